package hosttest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmfaas/wasmfaas/abi"
	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/host/hosttest"
)

// badInputCase is one hostile guest of an SDK's bad-input test: the guest
// misbehaves on data "bad" (with the subject choosing how) and answers
// "calm" otherwise.
type badInputCase struct {
	name, guest, subject string
	grants               []abi.Capability
	status               host.Status
	kind                 string
	message              []string
}

// abiMisuse returns the cases every SDK's hostile guests cover, each guest
// written in the SDK's language under the same name: regions outside
// memory, lengths read unsigned, and an emitted event without a type.
func abiMisuse() []badInputCase {
	return []badInputCase{
		{
			name: "buffer capacity past the end of memory", guest: "overflow",
			status: host.StatusTrap, message: []string{"event_data: region", "+0x40) outside memory"},
		},
		{
			name: "negative length", guest: "badlen",
			status: host.StatusTrap, message: []string{"event_attr: region", "+0xffffffff) outside memory"},
		},
		{
			name: "huge length", guest: "badlen", subject: "huge",
			status: host.StatusTrap, message: []string{"log_write: region", "+0x7ffffff0) outside memory"},
		},
		{
			name: "result pointer outside memory", guest: "badresult",
			status: host.StatusTrap, message: []string{"result_set: region", "outside memory"},
		},
		{
			name: "emit with an empty type", guest: "emptytype", grants: []abi.Capability{abi.CapEmit},
			status: host.StatusError, kind: abi.KindInvalidEmit, message: []string{"emitted event 0", "type is missing or empty"},
		},
	}
}

// runBadInput deploys each case's guest (build turns a guest name into its
// module) on a fresh host: the bad call ends with the case's status, kind
// and message and emits nothing, and the next call on the same function is
// ok.
func runBadInput(t *testing.T, build func(t *testing.T, guest string) []byte, cases []badInputCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			fn, err := h.Deploy(t.Context(), tc.guest, build(t, tc.guest), hosttest.Grant(tc.grants...))
			require.NoError(t, err)
			info := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.bad", tc.subject, "bad"))
			require.Equal(t, tc.status, info.Status, "%+v", info.Error)
			require.NotNil(t, info.Error)
			t.Logf("%s %s: %s", info.Status, info.Error.Kind, info.Error.Message)
			if tc.kind != "" {
				assert.Equal(t, tc.kind, info.Error.Kind)
			}
			for _, m := range tc.message {
				assert.Contains(t, info.Error.Message, m)
			}
			assert.Empty(t, info.Emitted, "nothing is emitted from a failed call")
			next := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.bad", tc.subject, "calm"))
			require.Equal(t, host.StatusOK, next.Status, "%+v", next.Error)
			require.NotNil(t, next.Result)
			assert.Equal(t, "calm", string(next.Result.Body))
		})
	}
}

// scheduleStep is one failing step of an SDK's schedules guest.
type scheduleStep struct{ step, kind, message string }

// runScheduleGuest drives an SDK's "schedules" test guest (the same steps
// in every SDK, by the event's data): "plan" schedules at a time and after
// a delay, cancels one, and sets status 201 and the header header; the
// SDK refuses a negative delay itself; each failing step ends the call
// error with its kind and schedules nothing.
func runScheduleGuest(t *testing.T, wasm []byte, header host.Header, checkIn func(t *testing.T, in host.Scheduled), failing []scheduleStep) {
	t.Helper()
	h := newHost(t)
	fn, err := h.Deploy(t.Context(), "schedules", wasm, hosttest.Grant(abi.CapSchedule))
	require.NoError(t, err)
	send := func(step string) host.ExecutionInfo {
		t.Helper()
		info := h.Send(t.Context(), fn, hosttest.NewEvent("com.example.step", "", step))
		t.Logf("%s: %s %+v", step, info.Status, info.Error)
		return info
	}
	t.Run("plan", func(t *testing.T) {
		info := send("plan")
		require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)
		require.NotNil(t, info.Result)
		assert.Equal(t, "planned", string(info.Result.Body))
		assert.Equal(t, 201, info.Result.Status)
		assert.Equal(t, []host.Header{header}, info.Result.Headers)
		require.Len(t, info.Scheduled, 3)
		at := info.Scheduled[0]
		assert.Equal(t, "at", at.Key)
		assert.Equal(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), at.At)
		require.NotNil(t, at.Event)
		assert.Equal(t, "com.example.later", at.Event.Type())
		assert.Equal(t, "s", at.Event.Subject())
		assert.Equal(t, "1", at.Event.Extensions()["step"])
		assert.JSONEq(t, `{"n":1}`, string(at.Event.Data()))
		in := info.Scheduled[1]
		assert.Equal(t, "in", in.Key)
		require.NotNil(t, in.Event)
		assert.Equal(t, "com.example.soon", in.Event.Type())
		assert.WithinDuration(t, time.Now().Add(1500*time.Millisecond), in.At, 10*time.Second)
		if checkIn != nil {
			checkIn(t, in)
		}
		assert.Equal(t, host.Scheduled{Key: "gone", Cancel: true}, info.Scheduled[2])
	})
	t.Run("negative delay", func(t *testing.T) {
		info := send("negative")
		require.Equal(t, host.StatusOK, info.Status, "%+v", info.Error)
		assert.Equal(t, `schedule "neg": invalid argument: negative delay -1ms`, string(info.Result.Body))
		assert.Empty(t, info.Scheduled)
	})
	for _, tc := range failing {
		t.Run(tc.step, func(t *testing.T) {
			info := send(tc.step)
			require.Equal(t, host.StatusError, info.Status)
			require.NotNil(t, info.Error)
			assert.Equal(t, tc.kind, info.Error.Kind)
			assert.Contains(t, info.Error.Message, tc.message)
			assert.Empty(t, info.Scheduled)
		})
	}
}
