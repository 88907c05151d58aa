// Package abi owns the contract between the host and a guest module: the ABI
// version, the import module and function names with their signatures, the
// status codes, the capability groups and the limits a guest can rely on.
//
// README.md in this directory is the normative specification that every guest
// SDK is written from; this package mirrors its tables as Go values so the host
// and the tests never spell a name twice. abi imports only the standard library.
package abi
