package site

import (
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExternalName(t *testing.T) {
	cases := map[string]struct {
		name, annotation string
		want             string
		wantErr          bool
	}{
		"MetadataName": {name: "rbd-fast", want: "rbd-fast"},
		"Annotation":   {name: "x", annotation: "volumes_ssd.1", want: "volumes_ssd.1"},
		"Slash":        {name: "x", annotation: "bad/pool", wantErr: true},
		"Space":        {name: "x", annotation: "bad pool", wantErr: true},
		"Unicode":      {name: "x", annotation: "ünï", wantErr: true},
		"LeadingDot":   {name: "x", annotation: ".mgr", wantErr: true},
		"TooLong":      {name: "x", annotation: string(make([]byte, 101)), wantErr: true},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			mg := &fake.ModernManaged{ObjectMeta: metav1.ObjectMeta{Name: tc.name}}
			if tc.annotation != "" {
				meta.SetExternalName(mg, tc.annotation)
			}
			got, err := ExternalName(mg)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ExternalName = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
