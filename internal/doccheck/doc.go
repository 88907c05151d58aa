// Package doccheck holds the test that keeps the repository's Markdown
// standing alone: every relative link resolves to a file inside the
// repository, and no page speaks of issue or seed numbers or of documents
// outside the repository. It has no code; the test is the package.
package doccheck
