package server

// Test-only views of server state, for the black-box tests in server_test.

// NumSessions returns the number of sessions in the server's table,
// including those still authenticating.
func (s *Server) NumSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// NumConns returns the number of live connections.
func (s *Server) NumConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
