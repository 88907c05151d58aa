package apierr

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatuses(t *testing.T) {
	for k, s := range statusOf {
		if k == KindInternal || k == KindUnavailable {
			assert.GreaterOrEqual(t, s, 500, k)
		} else {
			assert.True(t, s >= 400 && s < 500, "%s is the caller's mistake: 4xx, not %d", k, s)
		}
	}
	assert.Equal(t, http.StatusConflict, KindConflict.Status())
	assert.Equal(t, http.StatusInternalServerError, Kind("no such kind").Status())
}

func TestWrite(t *testing.T) {
	cause := errors.New("secret detail")
	e := &Error{Kind: KindMethod, Message: "use POST", Err: cause, Allow: []string{"POST"}, RetryAfter: 2}
	rec := httptest.NewRecorder()
	Write(rec, e)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "POST", rec.Header().Get("Allow"))
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var b Body
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b))
	assert.Equal(t, KindMethod, b.Error.Code)
	assert.Equal(t, "use POST", b.Error.Message)
	assert.NotContains(t, rec.Body.String(), "secret", "the cause is never sent")
	assert.ErrorIs(t, e, cause)
}
