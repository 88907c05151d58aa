package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/internal/console"
)

// TestServesFiles: / is the page, assets are under /assets/, everything
// else is 404; every answer carries the content security policy.
func TestServesFiles(t *testing.T) {
	ts := httptest.NewServer(console.Handler())
	t.Cleanup(ts.Close)
	for _, tc := range []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html", http.StatusOK},
		{"/index.html", "text/html", http.StatusOK},
		{"/assets/app.js", "text/javascript", http.StatusOK},
		{"/assets/style.css", "text/css", http.StatusOK},
		{"/assets/", "", http.StatusNotFound},
		{"/assets/nope.js", "", http.StatusNotFound},
		{"/functions", "", http.StatusNotFound},
	} {
		resp, err := ts.Client().Get(ts.URL + tc.path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, tc.path)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", tc.path)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), tc.path)
		if tc.ctype != "" {
			assert.Contains(t, resp.Header.Get("Content-Type"), tc.ctype, tc.path)
			assert.NotEmpty(t, b, tc.path)
		}
	}
	resp, err := ts.Client().Post(ts.URL+"/", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestNothingFromTheInternet and no data as HTML: the files load nothing
// from another origin (no URL with a scheme in them but the data: icon)
// and the scripts never hand a string to the HTML parser.
func TestNothingFromTheInternetNorHTML(t *testing.T) {
	root := "static"
	urls := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(`)
	html := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment|\beval\(|new Function`)
	n := 0
	require.NoError(t, fs.WalkDir(os.DirFS(root), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join(root, path))
		require.NoError(t, err)
		n++
		assert.Empty(t, urls.FindAllString(string(b), -1), "%s loads from elsewhere", path)
		if strings.HasSuffix(path, ".js") {
			assert.Empty(t, html.FindAllString(string(b), -1), "%s parses strings as HTML", path)
		}
		return nil
	}))
	assert.GreaterOrEqual(t, n, 5)
}
