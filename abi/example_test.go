package abi_test

import (
	"fmt"

	"github.com/wasmfaas/wasmfaas/abi"
)

// A guest builds the attrs block of emit_event as NUL-separated pairs.
func ExampleAppendPairs() {
	block := abi.AppendPairs(nil, []abi.Pair{{Name: "type", Value: "com.example.alert"}, {Name: "subject", Value: "device|1"}})
	fmt.Printf("%q\n", block)
	// Output: "type\x00com.example.alert\x00subject\x00device|1\x00"
}

// Every host function has a signature a C author can read.
func ExampleLookup() {
	f, _ := abi.Lookup("kv_get")
	fmt.Println(f.Group, f.Signature())
	// Output: kv kv_get(key_ptr: i32, key_len: i32, buf_ptr: i32, buf_cap: i32, rev_ptr: i32) -> i32
}
