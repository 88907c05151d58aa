package server

import (
	"io"
	"mime"
	"net/http"

	"github.com/wasmfaas/wasmfaas/internal/apierr"
	"github.com/wasmfaas/wasmfaas/internal/functions"
	"github.com/wasmfaas/wasmfaas/router"
)

// --- modules

func (s *Server) uploadModule(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/wasm" && mt != "application/octet-stream" {
			return apierr.Errorf(apierr.KindMediaType, "content type %q: upload a module as application/wasm", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.deps.Modules.MaxSize()))
	if err != nil {
		return err
	}
	mf, err := s.deps.Modules.Upload(r.Context(), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, mf)
}

func (s *Server) listModules(w http.ResponseWriter, r *http.Request) error {
	list, err := s.deps.Modules.List(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"modules": list})
}

func (s *Server) getModule(w http.ResponseWriter, r *http.Request) error {
	mf, err := s.deps.Modules.Get(r.Context(), r.PathValue("digest"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mf)
}

func (s *Server) deleteModule(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Functions.DeleteModule(r.Context(), r.PathValue("digest")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- functions

func (s *Server) listFunctions(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"functions": s.deps.Functions.List()})
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) error {
	info, err := s.deps.Functions.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) putFunction(w http.ResponseWriter, r *http.Request) error {
	var spec functions.FunctionSpec
	if err := s.decodeJSON(w, r, &spec); err != nil {
		return err
	}
	info, err := s.deps.Functions.Put(r.Context(), r.PathValue("name"), spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Functions.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) functionRevisions(w http.ResponseWriter, r *http.Request) error {
	revs, err := s.deps.Functions.Revisions(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revisions": revs})
}

func (s *Server) rollbackFunction(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Revision uint64 `json:"revision"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	info, err := s.deps.Functions.Rollback(r.Context(), r.PathValue("name"), req.Revision)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// --- triggers

func (s *Server) putTrigger(w http.ResponseWriter, r *http.Request) error {
	var t router.Trigger
	if err := s.decodeJSON(w, r, &t); err != nil {
		return err
	}
	if err := s.fnRoutes.checkRoute(r.Context(), r.PathValue("name"), t); err != nil {
		return err
	}
	info, err := s.deps.Triggers.Put(r.Context(), r.PathValue("name"), t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) getTrigger(w http.ResponseWriter, r *http.Request) error {
	info, err := s.deps.Triggers.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// triggerItem is a trigger as listed: its definition, and why it is not
// delivered when it no longer validates.
type triggerItem struct {
	router.Trigger
	Invalid string `json:"invalid,omitempty"`
}

func (s *Server) listTriggers(w http.ResponseWriter, r *http.Request) error {
	list, invalid, err := s.deps.Triggers.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]triggerItem, 0, len(list))
	for _, t := range list {
		it := triggerItem{Trigger: t}
		if err := invalid[t.Name]; err != nil {
			it.Invalid = err.Error()
		}
		out = append(out, it)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"triggers": out})
}

func (s *Server) deleteTrigger(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Triggers.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
