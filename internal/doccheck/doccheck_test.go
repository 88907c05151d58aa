package doccheck

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// skipDirs are not the repository's own pages: build output, installed
// packages, git's files.
var skipDirs = map[string]bool{"build": true, "node_modules": true, ".git": true}

var (
	// inlineLink matches [text](target) and ![alt](target); target ends at
	// the first space (a title may follow) or the closing parenthesis.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// refLink matches a reference definition: [name]: target.
	refLink = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$`)
	// codeSpan is inline code, whose brackets are not links.
	codeSpan = regexp.MustCompile("`[^`]*`")
	// scheme marks an absolute URL (https:, mailto:), which is not checked.
	scheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	// forbidden are words that point outside the repository.
	forbidden = regexp.MustCompile(`(?i)\bissue [0-9]|\bseed [0-9]|\bwave [0-9]|\.\./shared`)
)

// markdownFiles returns every *.md below root, relative to it.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && skipDirs[d.Name()] {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	require.NoError(t, err)
	return files
}

// link is a link target found on a line of a page.
type link struct {
	line   int
	target string
}

// pageLinks returns the link targets of the Markdown text outside code
// blocks and code spans, and every line (with its number) that matches
// forbidden, fenced code included.
func pageLinks(text string) (links []link, bad []link) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	fence := ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := forbidden.FindString(line); m != "" {
			bad = append(bad, link{n, m})
		}
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, link{n, m[1]})
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			links = append(links, link{n, m[1]})
		}
	}
	return links, bad
}

// TestMarkdownStandsAlone: every relative link in every page resolves to a
// file or directory inside the repository, and no page speaks of issue,
// seed or wave numbers or of ../shared.
func TestMarkdownStandsAlone(t *testing.T) {
	absRoot, err := filepath.Abs(root)
	require.NoError(t, err)
	files := markdownFiles(t)
	require.Contains(t, files, "README.md", "the walk starts at the repository root")
	for _, file := range files {
		b, err := os.ReadFile(filepath.Join(root, file))
		require.NoError(t, err)
		links, bad := pageLinks(string(b))
		for _, f := range bad {
			assert.Failf(t, "words pointing outside the repository", "%s:%d: %q", file, f.line, f.target)
		}
		for _, l := range links {
			target, _, _ := strings.Cut(l.target, "#")
			if target == "" || scheme.MatchString(target) {
				continue // an anchor on the same page, or an absolute URL
			}
			var path string
			if strings.HasPrefix(target, "/") {
				path = filepath.Join(absRoot, target)
			} else {
				path = filepath.Join(absRoot, filepath.Dir(file), target)
			}
			rel, err := filepath.Rel(absRoot, path)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				assert.Failf(t, "link outside the repository", "%s:%d: %s", file, l.line, l.target)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				assert.Failf(t, "link to a missing file", "%s:%d: %s", file, l.line, l.target)
			}
		}
	}
}

// TestPageLinks checks the link finder itself on the cases the pages use.
func TestPageLinks(t *testing.T) {
	text := "See [the spec](abi/README.md#4-capabilities) and ![x](img.png \"title\").\n" +
		"Not `[code](nowhere.md)`.\n" +
		"[ref]: docs/RATIONALE.md\n" +
		"```\n[in a fence](fenced.md) issue 5\n```\n" +
		"An [outside](https://example.com) link, [up](../shared/ARCHITECTURE.md), and seed 002.\n"
	links, bad := pageLinks(text)
	var targets []string
	for _, l := range links {
		targets = append(targets, l.target)
	}
	assert.Equal(t, []string{"abi/README.md#4-capabilities", "img.png", "docs/RATIONALE.md", "https://example.com", "../shared/ARCHITECTURE.md"}, targets)
	assert.Equal(t, []link{{5, "issue 5"}, {7, "../shared"}}, bad, "the first match per line, fenced code included")
}
