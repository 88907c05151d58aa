package natsserver

// RouteFailures is how many failed route connect attempts s's log adapter
// has seen, logged or not.
func RouteFailures(s *Server) int64 { return s.routes.attempts.Load() }
