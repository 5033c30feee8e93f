package gemm

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestEnvHelper is run in a child process by TestEnvSelection: it prints
// what init made of TRAM_BLAS.
func TestEnvHelper(t *testing.T) {
	if os.Getenv("TRAM_GEMM_ENV_HELPER") == "" {
		t.Skip("helper for TestEnvSelection")
	}
	fmt.Printf("backend=%s\ninitErr=%v\n", Backend(), InitError())
	// The selected backend must work.
	c := make([]float32, 4)
	Sgemm(false, false, 2, 2, 1, 1, []float32{1, 2}, 1, []float32{3, 4}, 2, 0, c, 2)
	fmt.Printf("c=%v\n", c)
}

// TestEnvSelection checks TRAM_BLAS at start-up in child processes: "go"
// forces the portable path, an unknown name or a library that cannot load
// falls back to the default with InitError saying why, never a crash.
func TestEnvSelection(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	def := backendNames[defaultBackend()]
	obErr := loadOpenBLAS()
	cases := []struct {
		env         []string
		wantBackend string
		wantErr     string // substring of InitError, "" for nil
	}{
		{[]string{"TRAM_BLAS="}, def, ""},
		{[]string{"TRAM_BLAS=go"}, "go", ""},
		{[]string{"TRAM_BLAS=cuda"}, def, "valid: avx2, go, openblas, avx512"},
		{[]string{"TRAM_BLAS=openblas", "TRAM_OPENBLAS_LIB=/nonexistent/libopenblas.so"}, def, "cannot load OpenBLAS"},
	}
	if obErr == nil {
		cases = append(cases, struct {
			env         []string
			wantBackend string
			wantErr     string
		}{[]string{"TRAM_BLAS=openblas"}, "openblas", ""})
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.env, ","), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestEnvHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "TRAM_GEMM_ENV_HELPER=1", "TRAM_BLAS=", "TRAM_OPENBLAS_LIB=")
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, out)
			}
			s := string(out)
			if !strings.Contains(s, "backend="+tc.wantBackend+"\n") {
				t.Errorf("want backend %s, child said:\n%s", tc.wantBackend, s)
			}
			if tc.wantErr == "" && !strings.Contains(s, "initErr=<nil>") {
				t.Errorf("want no InitError, child said:\n%s", s)
			}
			if tc.wantErr != "" && !strings.Contains(s, tc.wantErr) {
				t.Errorf("want InitError containing %q, child said:\n%s", tc.wantErr, s)
			}
			if !strings.Contains(s, "c=[3 4 6 8]") {
				t.Errorf("wrong product in child:\n%s", s)
			}
		})
	}
}
