package pvesim

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// uploadTemplate is the one route pveproxy streams as multipart into a
// temporary file instead of parsing its body as parameters.
const uploadTemplate = "/nodes/{node}/storage/{storage}/upload"

// Filename checks of pve-storage's upload and download-url handlers
// (PVE::Storage $ISO_EXT_RE_0, $VZTMPL_EXT_RE_1, $UPLOAD_IMPORT_EXT_RE_1,
// $SAFE_CHAR_CLASS_RE).
var (
	isoNameRE    = regexp.MustCompile(`(?i)[^/]+\.(?:iso|img)$`)
	vztmplNameRE = regexp.MustCompile(`(?i)[^/]+\.(?:tar|tar\.(?:gz|xz|zst|bz2))$`)
	importNameRE = regexp.MustCompile(`^[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$`)
	unsafeNameRE = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)
)

// normalizeContentFilename is PVE::Storage::normalize_content_filename.
func normalizeContentFilename(name string) string {
	name = strings.TrimSuffix(name, "\n")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return unsafeNameRE.ReplaceAllString(name, "_")
}

// contentDir is where a dir storage keeps a content type (get_iso_dir,
// get_vztmpl_dir, get_import_dir; /var/lib/vz for "local").
func contentDir(content string) string {
	switch content {
	case "iso":
		return "/var/lib/vz/template/iso"
	case "vztmpl":
		return "/var/lib/vz/template/cache"
	case "import":
		return "/var/lib/vz/import"
	case "backup":
		return "/var/lib/vz/dump"
	}
	return "/var/lib/vz/images"
}

// checkUploadName applies the upload/download-url filename rules for a
// content type; msg differs slightly between the two handlers.
func checkUploadName(content, filename, notAllowed string) (format string, err error) {
	switch content {
	case "iso":
		if !isoNameRE.MatchString(filename) {
			return "", paramErr("filename", "wrong file extension")
		}
		return "iso", nil
	case "vztmpl":
		if !vztmplNameRE.MatchString(filename) {
			return "", paramErr("filename", "wrong file extension")
		}
		return templateFormat(filename), nil
	case "import":
		m := importNameRE.FindStringSubmatch(filename)
		if m == nil {
			return "", paramErr("filename", "invalid filename or wrong extension")
		}
		return m[1], nil
	}
	return "", paramErr("content", notAllowed, content)
}

// fileStorage is storage_check_enabled plus the "file based" check of the
// upload handlers (a storage without a path, like rbd or lvmthin).
func (s *Simulator) fileStorage(r *request, notFileBased string) (*storage, error) {
	st, err := s.storageArg(r)
	if err != nil {
		return nil, err
	}
	if st.Type != "dir" {
		return nil, fail(notFileBased, st.Type)
	}
	return st, nil
}

// importFile places a file into a dir storage's content, replacing one of
// the same name (PVE overwrites the destination).
func (s *Simulator) importFileLocked(st *storage, node, content, filename, format string, size uint64) string {
	volid := st.ID + ":" + content + "/" + filename
	s.st.removeVolume(node, volid)
	s.st.addVolume(st, node, &volume{VolID: volid, Content: content, Format: format, Size: size})
	return volid
}

// downloadURL is pve-storage API2/Storage/Status.pm download_url: checks
// in the request, the file appears after a "download" worker. Nothing is
// fetched; the file gets a nominal size.
func downloadURL(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.fileStorage(r, "can't upload to storage type '%s', not a file based storage!")
	if err != nil {
		return nil, err
	}
	content := r.str("content")
	if !st.holds(content) {
		return nil, fail("storage '%s' is not configured for content-type '%s'", st.ID, content)
	}
	filename := normalizeContentFilename(r.str("filename"))
	format, err := checkUploadName(content, filename, "upload content-type '%s' is not allowed")
	if err != nil {
		return nil, err
	}
	node, src := r.str("node"), r.str("url")
	compression := r.str("compression")
	dest := contentDir(content) + "/" + filename
	return s.spawn(node, "download", encodeText(filename), r.user, func(t *task) error {
		if compression != "" && content != "iso" {
			return fmt.Errorf("decompression not supported for %s", content)
		}
		t.logf("downloading %s to %s", src, dest)
		if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
			return err
		}
		if err := t.injected(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.importFileLocked(st, node, content, filename, format, 64*mib)
		t.logf("download of '%s' to '%s' finished", src, dest)
		s.changed()
		return nil
	}), nil
}

// encodeText is PVE::Tools::encode_text, used for worker ids.
func encodeText(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x20 || c == ':' || c == '%' || c == '\\' || c > 0x7e {
			fmt.Fprintf(&b, "\\x%02x", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// upload is a received file: pveproxy wrote it to /var/tmp/pveupload-*
// and passes that name as tmpfilename; the simulator keeps its size and
// digests instead of the data.
type upload struct {
	size uint64
	sums map[string]string
}

var uploads = struct {
	sync.Mutex
	m map[string]upload
}{m: map[string]upload{}}

// callUpload receives a multipart upload the way pveproxy does
// (pve-http-server AnyEvent.pm file_upload_multipart): the fields content,
// checksum-algorithm and checksum, then the file part named "filename"
// whose file name becomes the filename parameter; the data goes to a
// temporary file named in tmpfilename.
func (s *Simulator) callUpload(r *http.Request, rt *route, vars map[string]string, user string) (any, error) {
	raw, err := ParseParams("", r.URL.RawQuery, nil)
	if err != nil {
		return nil, httpErr(http.StatusBadRequest, "unable to parse parameters - %s", firstLine(err.Error()))
	}
	if r.ContentLength > 0 {
		if _, ok := raw["tmpfilename"]; ok {
			return nil, fail("'tmpfilename' query parameter is not allowed for file uploads")
		}
		if err := receiveUpload(r, raw); err != nil {
			return nil, fail("%s", err.Error())
		}
	}
	for k, v := range vars {
		raw[k] = v
	}
	perm, err := s.authorize(rt, user, raw)
	if err != nil {
		if tmp, _ := raw["tmpfilename"].(string); tmp != "" {
			_ = os.Remove(tmp)
		}
		return nil, err
	}
	params, errs := validate(rt.spec, raw)
	if errs != nil {
		return nil, paramError(errs)
	}
	return rt.handler(&request{s: s, method: r.Method, path: r.URL.Path, route: rt, params: params, user: user, perm: perm})
}

func receiveUpload(r *http.Request, raw map[string]any) error {
	_, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, mp["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return errors.New("upload failed")
		}
		if err != nil {
			return errors.New("upload failed")
		}
		disp, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if disp != "form-data" {
			return fmt.Errorf("wrong Content-Disposition '%s' in multipart, expected 'form-data'", disp)
		}
		name, file := dp["name"], part.FileName()
		if file == "" {
			if name == "content" || name == "checksum" || name == "checksum-algorithm" {
				b, _ := io.ReadAll(io.LimitReader(part, 4096))
				raw[name] = strings.TrimSpace(string(b))
			}
			continue
		}
		if name != "filename" {
			return fmt.Errorf("wrong field name '%s' for file upload, expected 'filename'", name)
		}
		raw["filename"] = strings.TrimSpace(file)
		hs := map[string]hash.Hash{"md5": md5.New(), "sha1": sha1.New(), "sha224": sha256.New224(),
			"sha256": sha256.New(), "sha384": sha512.New384(), "sha512": sha512.New()}
		ws := make([]io.Writer, 0, len(hs))
		for _, h := range hs {
			ws = append(ws, h)
		}
		n, err := io.Copy(io.MultiWriter(ws...), part)
		if err != nil {
			return errors.New("upload failed")
		}
		u := upload{size: uint64(n), sums: map[string]string{}}
		for k, h := range hs {
			u.sums[k] = hex.EncodeToString(h.Sum(nil))
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		tmp := "/var/tmp/pveupload-" + hex.EncodeToString(b)
		uploads.Lock()
		uploads.m[tmp] = u
		uploads.Unlock()
		raw["tmpfilename"] = tmp
		return nil
	}
}

// uploadStorageFile is pve-storage API2/Storage/Status.pm upload: checks in
// the request, then an "imgcopy" worker verifies the checksum and copies
// the temporary file into the storage.
func uploadStorageFile(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.fileStorage(r, "can't upload to storage type '%s'")
	if err != nil {
		return nil, err
	}
	tmp := r.str("tmpfilename")
	if tmp == "" {
		return nil, fail("missing temporary file name")
	}
	uploads.Lock()
	u, ok := uploads.m[tmp]
	delete(uploads.m, tmp)
	uploads.Unlock()
	if !ok {
		return nil, fail("temporary file '%s' does not exist", tmp)
	}
	content := r.str("content")
	filename := normalizeContentFilename(r.str("filename"))
	format, err := checkUploadName(content, filename, "upload content type '%s' not allowed")
	if err != nil {
		return nil, err
	}
	if !st.holds(content) {
		return nil, fail("storage '%s' does not support '%s' content", st.ID, content)
	}
	node := r.str("node")
	algo, want := r.str("checksum-algorithm"), r.str("checksum")
	dest := contentDir(content) + "/" + filename
	return s.spawn(node, "imgcopy", "", r.user, func(t *task) error {
		t.logf("starting file import from: %s", tmp)
		if algo != "" {
			if got := u.sums[algo]; !strings.EqualFold(got, want) {
				t.logf("calculating checksum...")
				return fmt.Errorf("checksum mismatch: got '%s' != expect '%s'", got, want)
			}
			t.logf("calculating checksum...OK, checksum verified")
		}
		t.logf("target node: %s", node)
		t.logf("target file: %s", dest)
		t.logf("file size is: %d", u.size)
		if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
			return err
		}
		if err := t.injected(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.importFileLocked(st, node, content, filename, format, u.size)
		t.logf("finished file import successfully")
		s.changed()
		return nil
	}), nil
}

// getVolumeInfo is pve-storage API2/Storage/Content.pm info: the volume's
// path, size, used and format.
func getVolumeInfo(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	node := r.str("node")
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	volid, err := realVolumeID(r.str("storage"), r.str("volume"))
	if err != nil {
		return nil, err
	}
	sid, name, _ := cutVolID(volid)
	st := s.st.Storages[sid]
	if st == nil {
		return nil, fail("storage '%s' does not exist", sid)
	}
	v := s.st.volume(node, volid)
	if v == nil {
		return nil, missingVolumeInfo(st, volid)
	}
	// Plugins report the allocated size as used for the simulator's fully
	// written volumes.
	return map[string]any{"path": volumePath(st, name, v), "size": v.Size, "used": v.Size, "format": v.Format}, nil
}

// realVolumeID is Content.pm's $real_volume_id: a full volid must name
// the storage given, a bare name needs one.
func realVolumeID(storeID, volume string) (string, error) {
	if strings.Contains(volume, ":") {
		sid, _, _ := cutVolID(volume)
		if storeID != "" && sid != storeID {
			return "", paramErr("volume", "storage ID mismatch (%s != %s)", sid, storeID)
		}
		return volume, nil
	}
	if storeID == "" {
		return "", paramErr("volume", "no storage specified - incomplete volume ID")
	}
	return storeID + ":" + volume, nil
}

// volumePath is the storage plugin's path(): a file under /var/lib/vz for
// dir storages, /dev/<vg>/<lv> for LVM thin, an rbd: spec for Ceph.
func volumePath(st *storage, name string, v *volume) string {
	switch st.Type {
	case "rbd":
		return fmt.Sprintf("rbd:%s/%s:conf=/etc/pve/ceph.conf:id=admin:keyring=/etc/pve/priv/ceph/%s.keyring", st.ID, name, st.ID)
	case "lvmthin":
		return "/dev/pve/" + name
	}
	if rest, ok := strings.CutPrefix(name, v.Content+"/"); ok && v.Content != "images" && v.Content != "rootdir" {
		return path.Join(contentDir(v.Content), rest)
	}
	if v.VMID != 0 {
		return path.Join(contentDir("images"), strconv.Itoa(v.VMID), name)
	}
	return path.Join(contentDir("images"), name)
}

// missingVolumeInfo is how volume_size_info fails for a volume that is not
// there, per plugin.
func missingVolumeInfo(st *storage, volid string) error {
	_, name, _ := cutVolID(volid)
	switch st.Type {
	case "rbd":
		return fail("rbd error: rbd: error opening image %s: (2) No such file or directory", name)
	case "lvmthin":
		return fail("command '/sbin/lvs --separator : --noheadings --units b --unbuffered --nosuffix --options lv_size /dev/pve/%s' failed: exit code 5", name)
	}
	return fail("volume_size_info on '%s' failed - no format", volid)
}
