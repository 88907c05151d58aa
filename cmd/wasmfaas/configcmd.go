package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (defaults < wasmfaas.yaml < WASMFAAS_* < flags), secrets masked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, k, err := loadConfig(cmd.Flags(), os.Environ(), configScope)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			eff := effective(k, configScope)
			if output == "json" {
				m := make(map[string]string, len(eff))
				for _, kv := range eff {
					m[kv[0]] = kv[1]
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(m)
			}
			for _, kv := range eff {
				fmt.Fprintf(out, "%-24s %s\n", kv[0], kv[1])
			}
			return nil
		},
	}
	addConfigFlags(cmd.Flags(), configScope)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
