package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wasmfaas/wasmfaas/host"
)

// TestRouteFailure: every outcome but ok maps to the status that says
// whose fault it was, with the call id and no guest stderr for traps.
func TestRouteFailure(t *testing.T) {
	for _, tc := range []struct {
		info       host.ExecutionInfo
		status     int
		retryAfter string
		want, not  string
	}{
		{host.ExecutionInfo{CallID: "c1", Status: host.StatusRejected, Error: &host.ErrorInfo{Kind: "overloaded", Message: "no free instance"}}, http.StatusTooManyRequests, "1", "overloaded", ""},
		{host.ExecutionInfo{CallID: "c2", Status: host.StatusRejected, Error: &host.ErrorInfo{Kind: "invalid_input", Message: "bad name"}}, http.StatusBadRequest, "", "bad name", ""},
		{host.ExecutionInfo{CallID: "c3", Status: host.StatusTimeout, Error: &host.ErrorInfo{Kind: "timeout", Message: "deadline"}}, http.StatusGatewayTimeout, "", "timeout", ""},
		{host.ExecutionInfo{CallID: "c4", Status: host.StatusTrap, Error: &host.ErrorInfo{Kind: "trap", Message: "panic: secret\ngoroutine 1 [running]"}}, http.StatusInternalServerError, "", "see call c4", "goroutine"},
		{host.ExecutionInfo{CallID: "c5", Status: host.StatusError, Error: &host.ErrorInfo{Kind: "invalid_response", Message: "result_status: 42"}}, http.StatusInternalServerError, "", "invalid_response", ""},
	} {
		w := httptest.NewRecorder()
		assert.NoError(t, routeFailure(w, tc.info))
		assert.Equal(t, tc.status, w.Code, tc.info.CallID)
		assert.Equal(t, tc.retryAfter, w.Header().Get("Retry-After"), tc.info.CallID)
		assert.Contains(t, w.Body.String(), tc.want, tc.info.CallID)
		assert.Contains(t, w.Body.String(), `"call_id": "`+tc.info.CallID+`"`, tc.info.CallID)
		if tc.not != "" {
			assert.NotContains(t, w.Body.String(), tc.not, tc.info.CallID)
		}
	}
}
