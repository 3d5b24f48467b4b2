package pvesim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func errorsOf(t *testing.T, res rawResp) map[string]any {
	t.Helper()
	e, _ := decode(t, res.Body)["errors"].(map[string]any)
	return e
}

func waitUPID(t *testing.T, srv *Server, c *proxmox.Client, res rawResp) string {
	t.Helper()
	if res.Code != 200 {
		t.Fatalf("want a task, got %s %s", res.Status, res.Body)
	}
	upid, _ := decode(t, res.Body)["data"].(string)
	return wait(t, proxmox.NewTask(proxmox.UPID(upid), c))
}

// TestVolumeInfoFollowsContentPm: GET .../content/{volume} answers path,
// size, used and format per plugin (pve-storage API2/Storage/Content.pm
// info, Storage/RBDPlugin.pm and LvmThinPlugin.pm path) and fails like
// $real_volume_id and volume_size_info.
func TestVolumeInfoFollowsContentPm(t *testing.T) {
	srv := startSim(t, Options{})
	get := func(p string) rawResp { return raw(t, srv, "GET", p, "", "", "token") }

	res := get("/nodes/pve1/storage/ceph-rbd/content/" + url.PathEscape("ceph-rbd:base-9000-disk-0"))
	d := decode(t, res.Body)["data"].(map[string]any)
	if res.Code != 200 || d["format"] != "raw" || d["size"].(float64) <= 0 || d["used"] == nil ||
		d["path"] != "rbd:ceph-rbd/base-9000-disk-0:conf=/etc/pve/ceph.conf:id=admin:keyring=/etc/pve/priv/ceph/ceph-rbd.keyring" {
		t.Fatalf("rbd volume info %s %v", res.Status, d)
	}
	// A name relative to the storage works as well.
	res = get("/nodes/pve1/storage/local/content/" + url.PathEscape(strings.TrimPrefix(DefaultCTTemplate, "local:")))
	d = decode(t, res.Body)["data"].(map[string]any)
	if res.Code != 200 || d["format"] != "tzst" || d["path"] != "/var/lib/vz/template/cache/debian-12-standard_12.12-1_amd64.tar.zst" {
		t.Fatalf("vztmpl volume info %s %v", res.Status, d)
	}
	if res = get("/nodes/pve1/storage/local/content/" + url.PathEscape("ceph-rbd:base-9000-disk-0")); res.Code != 400 ||
		errorsOf(t, res)["volume"] != "storage ID mismatch (ceph-rbd != local)" {
		t.Errorf("mismatch: %s %s", res.Status, res.Body)
	}
	if res = get("/nodes/pve1/storage/local/content/iso/missing.iso"); res.Status != "500 volume_size_info on 'local:iso/missing.iso' failed - no format" {
		t.Errorf("missing dir volume: %s", res.Status)
	}
	if res = get("/nodes/pve1/storage/ceph-rbd/content/vm-4242-disk-0"); res.Status != "500 rbd error: rbd: error opening image vm-4242-disk-0: (2) No such file or directory" {
		t.Errorf("missing rbd volume: %s", res.Status)
	}
}

// TestDefaultStoragesIncludeLocalLVM: a default install has "local" (dir)
// and "local-lvm" (lvmthin, images and rootdir) on every node; ceph-rbd
// stays shared.
func TestDefaultStoragesIncludeLocalLVM(t *testing.T) {
	srv := startSim(t, Options{})
	for _, node := range []string{"pve1", "pve2", "pve3"} {
		res := raw(t, srv, "GET", "/nodes/"+node+"/storage/local-lvm/status", "", "", "token")
		d := decode(t, res.Body)["data"].(map[string]any)
		if res.Code != 200 || d["type"] != "lvmthin" || d["content"] != "images,rootdir" || d["shared"] != float64(0) {
			t.Fatalf("%s local-lvm: %s %v", node, res.Status, d)
		}
	}
	res := raw(t, srv, "GET", "/nodes/pve1/storage?content=images", "", "", "token")
	var ids []string
	for _, e := range decode(t, res.Body)["data"].([]any) {
		ids = append(ids, e.(map[string]any)["storage"].(string))
	}
	if strings.Join(ids, ",") != "ceph-rbd,local-lvm" {
		t.Fatalf("image storages %v", ids)
	}
	// A disk allocated there is an LV in VG pve (LvmThinPlugin path/format).
	c := pveClient(t, srv)
	res = raw(t, srv, "POST", "/nodes/pve2/qemu", "application/x-www-form-urlencoded", "vmid=706&scsi0=local-lvm:4", "token")
	if st := waitUPID(t, srv, c, res); st != "OK" {
		t.Fatalf("create on local-lvm: %s", st)
	}
	res = raw(t, srv, "GET", "/nodes/pve2/storage/local-lvm/content/vm-706-disk-0", "", "", "token")
	d := decode(t, res.Body)["data"].(map[string]any)
	if res.Code != 200 || d["path"] != "/dev/pve/vm-706-disk-0" || d["format"] != "raw" || d["size"] != float64(4*gib) {
		t.Fatalf("local-lvm volume info %s %v", res.Status, d)
	}
	// Node-local: the other nodes' local-lvm does not have it.
	if res = raw(t, srv, "GET", "/nodes/pve1/storage/local-lvm/content/vm-706-disk-0", "", "", "token"); !strings.HasPrefix(res.Status, "500 command '/sbin/lvs") {
		t.Fatalf("volume on another node's local-lvm: %s", res.Status)
	}
}

// TestUnknownStorageErrorsPerRoute: each storage handler fails on an
// unknown storage the way its PVE code does: Status.pm index/read_status
// raise "No such storage." as a parameter error; the others die in
// storage_config with "storage 'x' does not exist" (PVE/Storage.pm).
func TestUnknownStorageErrorsPerRoute(t *testing.T) {
	srv := startSim(t, Options{})
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		method, path, body string
		want               string // status line, or "400 storage=<msg>"
	}{
		{"GET", "/nodes/pve1/storage?storage=nope", "", "400 storage=No such storage."},
		{"GET", "/nodes/pve1/storage/nope/status", "", "400 storage=No such storage."},
		{"GET", "/nodes/pve1/storage/nope/content", "", "500 storage 'nope' does not exist"},
		{"GET", "/nodes/pve1/storage/nope/content/iso%2Fx.iso", "", "500 storage 'nope' does not exist"},
		{"DELETE", "/nodes/pve1/storage/nope/content/iso%2Fx.iso", "", "500 storage 'nope' does not exist"},
		{"POST", "/nodes/pve1/aplinfo", "storage=nope&template=debian-12-standard_12.12-1_amd64.tar.zst", "500 storage 'nope' does not exist"},
		{"POST", "/nodes/pve1/storage/nope/download-url", "content=iso&filename=a.iso&url=https://example.com/a.iso", "500 storage 'nope' does not exist"},
		// qemu-server API2/Qemu.pm: $check_storage_access (create) and clone_vm
		// die in storage_config / storage_check_enabled; a storage without
		// images is a parameter error.
		{"POST", "/nodes/pve1/qemu", "vmid=700&scsi0=nope:4", "500 storage 'nope' does not exist"},
		{"POST", "/nodes/pve1/qemu", "vmid=701&scsi0=local:4", "400 storage=storage 'local' does not support vm images"},
		{"POST", "/nodes/pve1/qemu/9000/clone", "newid=702&full=1&storage=nope", "500 storage 'nope' does not exist"},
		// pve-container API2/LXC.pm create: check_volume_access on the
		// ostemplate, then storage_check_enabled for the rootfs storage.
		{"POST", "/nodes/pve1/lxc", "vmid=703&ostemplate=nope:vztmpl/x.tar.zst&rootfs=local-lvm:4", "500 storage 'nope' does not exist"},
		{"POST", "/nodes/pve1/lxc", "vmid=704&ostemplate=" + url.QueryEscape(DefaultCTTemplate) + "&rootfs=nope:4", "500 storage 'nope' does not exist"},
	} {
		res := raw(t, srv, tc.method, tc.path, form, tc.body, "token")
		if code, msg, ok := strings.Cut(tc.want, " storage="); ok {
			if res.Status != code+" Parameter verification failed." || errorsOf(t, res)["storage"] != msg {
				t.Errorf("%s %s: %s %s", tc.method, tc.path, res.Status, res.Body)
			}
			continue
		}
		if res.Status != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.method, tc.path, res.Status, tc.want)
		}
	}
}

// TestDownloadURLMakesFileAfterTask follows pve-storage
// API2/Storage/Status.pm download_url: checks in the request, then the file
// appears when the "download" worker ends (nothing is fetched).
func TestDownloadURLMakesFileAfterTask(t *testing.T) {
	srv := startSim(t, Options{TaskDuration: 300 * time.Millisecond})
	c := pveClient(t, srv)
	form := "application/x-www-form-urlencoded"
	post := func(storage, body string) rawResp {
		return raw(t, srv, "POST", "/nodes/pve2/storage/"+storage+"/download-url", form, body, "token")
	}
	res := post("local", "content=iso&filename=debian+12.iso&url=https://example.com/d.iso")
	if res.Code != 200 {
		t.Fatalf("download-url: %s %s", res.Status, res.Body)
	}
	if _, ok := srv.volumeInfo("pve2", "local:iso/debian_12.iso"); ok {
		t.Fatal("file exists before the task ended")
	}
	upid, _ := decode(t, res.Body)["data"].(string)
	if !strings.Contains(upid, ":download:debian_12.iso:") {
		t.Errorf("upid %s", upid)
	}
	if st := wait(t, proxmox.NewTask(proxmox.UPID(upid), c)); st != "OK" {
		t.Fatalf("task: %s", st)
	}
	if v, ok := srv.volumeInfo("pve2", "local:iso/debian_12.iso"); !ok || v.Format != "iso" {
		t.Fatal("downloaded file missing (normalized name debian_12.iso)")
	}
	if _, ok := srv.volumeInfo("pve1", "local:iso/debian_12.iso"); ok {
		t.Fatal("local storage file shows on another node")
	}
	if res = post("local", "content=iso&filename=d.qcow2&url=https://example.com/d"); res.Code != 400 || errorsOf(t, res)["filename"] != "wrong file extension" {
		t.Errorf("bad extension: %s %s", res.Status, res.Body)
	}
	if res = post("ceph-rbd", "content=iso&filename=d.iso&url=https://example.com/d"); res.Status != "500 can't upload to storage type 'rbd', not a file based storage!" {
		t.Errorf("rbd: %s", res.Status)
	}
	if res = post("local", "content=import&filename=d.qcow2&url=https://example.com/d"); res.Status != "500 storage 'local' is not configured for content-type 'import'" {
		t.Errorf("import on local: %s", res.Status)
	}
	if res = post("local", "content=iso&filename=d.iso&url=ftp://example.com/d"); res.Code != 400 || errorsOf(t, res)["url"] == nil {
		t.Errorf("url pattern: %s %s", res.Status, res.Body)
	}
}

// multipartUpload builds a body the way the PVE GUI and proxmoxer send an
// upload: fields first, then the file part named "filename".
func multipartUpload(t *testing.T, fields [][2]string, fileField, fileName string, data []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	fw, err := mw.CreateFormFile(fileField, fileName)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// TestUploadMultipartMakesFileAfterTask follows pve-http-server AnyEvent.pm
// file_upload_multipart (fields, then the "filename" file part) and
// pve-storage API2/Storage/Status.pm upload (an "imgcopy" worker checks the
// checksum, then the file is in the storage).
func TestUploadMultipartMakesFileAfterTask(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	data := bytes.Repeat([]byte("pvesim-iso"), 100_000) // 1 MB, above the 512 KiB parameter limit
	sum := sha256.Sum256(data)
	ct, body := multipartUpload(t, [][2]string{{"content", "iso"}, {"checksum-algorithm", "sha256"}, {"checksum", hex.EncodeToString(sum[:])}},
		"filename", "my image.iso", data)
	res := raw(t, srv, "POST", "/nodes/pve1/storage/local/upload", ct, string(body), "token")
	if st := waitUPID(t, srv, c, res); st != "OK" {
		t.Fatalf("upload task: %s", st)
	}
	v, ok := srv.volumeInfo("pve1", "local:iso/my_image.iso")
	if !ok || v.Size != uint64(len(data)) {
		t.Fatalf("uploaded file %+v %v", v, ok)
	}

	ct, body = multipartUpload(t, [][2]string{{"content", "vztmpl"}, {"checksum-algorithm", "md5"}, {"checksum", "00"}},
		"filename", "ct.tar.zst", []byte("data"))
	res = raw(t, srv, "POST", "/nodes/pve1/storage/local/upload", ct, string(body), "token")
	if st := waitUPID(t, srv, c, res); !strings.HasPrefix(st, "checksum mismatch: got '8d777f385d3dfec8815d20f7496026dc' != expect '00'") {
		t.Fatalf("checksum mismatch task: %s", st)
	}
	if _, ok := srv.volumeInfo("pve1", "local:vztmpl/ct.tar.zst"); ok {
		t.Fatal("file kept after a checksum mismatch")
	}
	ct, body = multipartUpload(t, [][2]string{{"content", "iso"}}, "file", "x.iso", []byte("x"))
	if res = raw(t, srv, "POST", "/nodes/pve1/storage/local/upload", ct, string(body), "token"); res.Status != "500 wrong field name 'file' for file upload, expected 'filename'" {
		t.Errorf("wrong field name: %s", res.Status)
	}
	ct, body = multipartUpload(t, [][2]string{{"content", "iso"}}, "filename", "x.iso", []byte("x"))
	if res = raw(t, srv, "POST", "/nodes/pve1/storage/ceph-rbd/upload", ct, string(body), "token"); res.Status != "500 can't upload to storage type 'rbd'" {
		t.Errorf("rbd upload: %s", res.Status)
	}
	if res = raw(t, srv, "POST", "/nodes/pve1/storage/local/upload", "application/x-www-form-urlencoded", "content=iso&filename=x.iso", "token"); res.Code != 500 ||
		!strings.Contains(res.Status, "not implemented") {
		t.Errorf("form-encoded upload: %s", res.Status)
	}
	if res = raw(t, srv, "POST", "/nodes/pve1/storage/local/upload?content=iso&filename=x.iso", "", "", "token"); res.Status != "500 missing temporary file name" {
		t.Errorf("upload without a file: %s", res.Status)
	}
}

// volumeInfo is a test helper reading a volume from the state.
func (s *Simulator) volumeInfo(node, volid string) (volume, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.st.volume(node, volid)
	if v == nil {
		return volume{}, false
	}
	return *v, true
}
