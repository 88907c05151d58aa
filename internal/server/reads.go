package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/router"
	"github.com/wasmfaas/wasmfaas/store"
)

// --- calls

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Calls == nil {
		return apierr.Errorf(apierr.KindNotFound, "no call log")
	}
	c, err := s.deps.Calls.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(c.Record)
	return err
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Calls == nil {
		return writeJSON(w, http.StatusOK, map[string]any{"calls": []json.RawMessage{}})
	}
	q := r.URL.Query()
	f := store.CallFilter{Function: q.Get("function"), Status: q.Get("status")}
	n, err := limitParam(r, 0)
	if err != nil {
		return err
	}
	f.Limit = n
	calls, err := s.deps.Calls.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, 0, len(calls))
	for _, c := range calls {
		out = append(out, c.Record)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

// limitParam reads ?limit=, a positive integer, def when absent.
func limitParam(r *http.Request, def int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 {
		return 0, apierr.Errorf(apierr.KindMalformed, "limit %q: want a positive integer", l)
	}
	return n, nil
}

// --- properties

func (s *Server) subjectProperties(w http.ResponseWriter, r *http.Request) error {
	subject := r.PathValue("subject")
	props, err := s.deps.Properties.List(r.Context(), subject)
	if err != nil {
		return err
	}
	ext, err := s.deps.Properties.Extended(r.Context(), subject)
	if err != nil {
		return err
	}
	type prop struct {
		Value    json.RawMessage `json:"value"`
		Revision uint64          `json:"revision"`
	}
	out := make(map[string]prop, len(props))
	for k, p := range props {
		out[k] = prop{Value: p.Value, Revision: p.Revision}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"subject": subject, "properties": out, "extended": ext})
}

// propertyHistory answers the newest property-changed events, of
// ?subject= or of every subject, newest first (?limit=, 50 by default).
func (s *Server) propertyHistory(w http.ResponseWriter, r *http.Request) error {
	if s.deps.History == nil {
		return apierr.Errorf(apierr.KindNotFound, "no property history")
	}
	limit, err := limitParam(r, 50)
	if err != nil {
		return err
	}
	if limit > store.MaxHistoryLimit {
		return apierr.Errorf(apierr.KindMalformed, "limit %d: at most %d", limit, store.MaxHistoryLimit)
	}
	subject := r.URL.Query().Get("subject")
	evs, err := s.deps.History.History(r.Context(), subject, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"subject": subject, "events": evs})
}

// --- dead letters

func (s *Server) deadLetters() (DeadLetters, error) {
	if s.deps.DeadLetters == nil {
		return nil, apierr.Errorf(apierr.KindNotFound, "event routing is not running")
	}
	return s.deps.DeadLetters, nil
}

func seqParam(r *http.Request) (uint64, error) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return 0, apierr.Errorf(apierr.KindMalformed, "dead letter %q: want a positive sequence number", r.PathValue("seq"))
	}
	return seq, nil
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	dl, err := s.deadLetters()
	if err != nil {
		return err
	}
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	dls, err := dl.ListDeadLetters(r.Context(), r.URL.Query().Get("trigger"), limit)
	if err != nil {
		return err
	}
	if dls == nil {
		dls = []router.DeadLetter{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deadletters": dls})
}

func (s *Server) getDeadLetter(w http.ResponseWriter, r *http.Request) error {
	dl, err := s.deadLetters()
	if err != nil {
		return err
	}
	seq, err := seqParam(r)
	if err != nil {
		return err
	}
	d, err := dl.GetDeadLetter(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) error {
	dl, err := s.deadLetters()
	if err != nil {
		return err
	}
	seq, err := seqParam(r)
	if err != nil {
		return err
	}
	newSeq, err := dl.ReplayDeadLetter(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"replayed": seq, "event_seq": newSeq})
}
