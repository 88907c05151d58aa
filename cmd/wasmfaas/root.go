package main

import "github.com/spf13/cobra"

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "wasmfaas",
		Short:         "A WebAssembly function host for CloudEvents",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTestCmd(), newConfigCmd(), newServeCmd(), newDevCmd(), newDeployCmd(), newInvokeCmd(), newCallsCmd(), newPropsCmd(), newPublishCmd(), newDeadLettersCmd(),
		newResourceCmd("functions", func(it map[string]any) []string {
			spec, _ := it["spec"].(map[string]any)
			return []string{str(it["name"]), str(it["revision"]), str(spec["module"]), humanAge(str(it["updated"])), list(spec["grants"]), list(spec["allowed_hosts"])}
		}, []string{"NAME", "REVISION", "MODULE", "UPDATED", "GRANTS", "ALLOWED_HOSTS"}),
		newResourceCmd("modules", func(it map[string]any) []string {
			size := str(it["size"])
			if n, ok := it["size"].(float64); ok {
				size = humanSize(int64(n))
			}
			return []string{str(it["digest"]), str(it["mode"]), size, str(it["capabilities"])}
		}, []string{"DIGEST", "MODE", "SIZE", "CAPABILITIES"}),
		newResourceCmd("triggers", func(it map[string]any) []string {
			// A stored trigger that no longer validates is not delivered;
			// the list says so and why.
			state := "delivered"
			if why := str(it["invalid"]); why != "" {
				state = "INVALID: " + why
			}
			on := str(it["filters"])
			switch {
			case str(it["schedule"]) != "":
				on = "schedule " + str(it["schedule"])
				if tz := str(it["schedule_tz"]); tz != "" {
					on += " (" + tz + ")"
				}
			case str(it["route"]) != "":
				on = "route " + str(it["route"])
			case on == "":
				on = "every event"
			}
			return []string{str(it["name"]), str(it["function"]), on, state}
		}, []string{"NAME", "FUNCTION", "ON", "STATE"}),
	)
	for _, c := range root.Commands() {
		if c.Name() == "triggers" {
			c.AddCommand(newTriggerPutCmd())
		}
	}
	return root
}
