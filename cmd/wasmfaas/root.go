package main

import "github.com/spf13/cobra"

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "wasmfaas",
		Short:         "A WebAssembly function host for CloudEvents",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTestCmd(), newConfigCmd())
	return root
}
