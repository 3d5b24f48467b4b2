// Command package-runtime is the package runtime of a Crossplane core started with
// --package-runtime=External on a machine without a kubelet: it serves a loopback OCI registry that
// Crossplane pulls packages from, and runs every active provider and function revision as a local
// process from its package's runtime image (internal/pkgruntime).
//
//	package-runtime serve --registry=127.0.0.1:5050 --kubeconfig=K --dir=DIR [--push=FILE=REPO:TAG]...
//	package-runtime push --registry=127.0.0.1:5050 FILE REPO:TAG   (into a running registry)
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/microcloud-dev/provider-microcloud/internal/pkgruntime"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "push":
		err = push(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "package-runtime:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: package-runtime serve|push [flags]; see -h of each")
	os.Exit(2)
}

type pushes []string

func (p *pushes) String() string     { return strings.Join(*p, ",") }
func (p *pushes) Set(v string) error { *p = append(*p, v); return nil }

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	reg := fs.String("registry", "127.0.0.1:5050", "loopback address of the OCI registry to serve")
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server (also given to providers)")
	ns := fs.String("namespace", "crossplane-system", "Crossplane's namespace")
	dir := fs.String("dir", "package-runtime", "directory for unpacked images, TLS files and process logs")
	interval := fs.Duration("interval", time.Second, "how often revisions are checked")
	var ps pushes
	fs.Var(&ps, "push", "FILE=REPOSITORY:TAG to push into the registry once it serves (repeatable)")
	_ = fs.Parse(args)
	logger := log.New(os.Stderr, "package-runtime: ", log.LstdFlags)

	r, err := pkgruntime.ServeRegistry(*reg, log.New(os.Stderr, "registry: ", log.LstdFlags))
	if err != nil {
		return err
	}
	defer r.Close() //nolint:errcheck // on exit
	logger.Printf("registry serving on %s", r.Addr)
	for _, p := range ps {
		file, ref, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("--push %q: want FILE=REPOSITORY:TAG", p)
		}
		d, err := pkgruntime.Push(file, r.Addr+"/"+strings.TrimPrefix(ref, "/"))
		if err != nil {
			return err
		}
		logger.Printf("pushed %s as %s/%s@%s", file, r.Addr, ref, d)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	rt, err := pkgruntime.New(cfg, pkgruntime.Options{Namespace: *ns, Dir: *dir, Kubeconfig: *kubeconfig,
		Env: os.Environ(), Interval: *interval, Log: logger})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Printf("running package revisions (dir %s)", *dir)
	err = rt.Run(ctx)
	logger.Printf("stopped")
	return err
}

func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	reg := fs.String("registry", "127.0.0.1:5050", "loopback address of the running registry")
	_ = fs.Parse(args)
	if fs.NArg() != 2 {
		return fmt.Errorf("usage: package-runtime push --registry=ADDR FILE REPOSITORY:TAG")
	}
	d, err := pkgruntime.Push(fs.Arg(0), *reg+"/"+strings.TrimPrefix(fs.Arg(1), "/"))
	if err != nil {
		return err
	}
	fmt.Println(d)
	return nil
}
