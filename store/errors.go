package store

import "errors"

// Sentinel errors; backends wrap them with context so callers use errors.Is.
var (
	// ErrNotFound: the key, property or extended property does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-set saw another revision.
	ErrConflict = errors.New("revision conflict")
	// ErrInvalid: a key, subject, name or value breaks the rules of abi/README.md.
	ErrInvalid = errors.New("invalid argument")
	// ErrTooLarge: a key or value exceeds its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: the backend cannot be reached right now.
	ErrUnavailable = errors.New("store unavailable")
)
