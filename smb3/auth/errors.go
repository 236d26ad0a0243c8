package auth

import "errors"

// Sentinel errors returned (wrapped in *Error) by Context.Step. Test with errors.Is.
var (
	// ErrLogonFailure: the credentials were wrong, refused (LM or NTLMv1 responses, guest or
	// anonymous logons not allowed) or failed an integrity check (MIC, mechListMIC). The SMB server
	// answers STATUS_LOGON_FAILURE.
	ErrLogonFailure = errors.New("logon failure")
	// ErrInvalidToken: the security buffer is malformed or out of sequence. The SMB server answers
	// STATUS_INVALID_PARAMETER.
	ErrInvalidToken = errors.New("invalid security token")
	// ErrUnsupportedMech: the client offered no mechanism this server implements. The SMB server
	// answers STATUS_NOT_SUPPORTED (or STATUS_LOGON_FAILURE).
	ErrUnsupportedMech = errors.New("unsupported security mechanism")
)

// Error is a rejected authentication step: Err is one of the sentinel errors and Reason a short,
// fixed token naming the check that failed ("ntlm-v1", "bad-password", "ntlm-mic", "mechlistmic",
// "ntlm-authenticate-truncated", ...), meant for logs and per-reason counters. It never contains
// client-supplied text.
type Error struct {
	Err    error
	Reason string
}

func (e *Error) Error() string { return "auth: " + e.Err.Error() + ": " + e.Reason }

func (e *Error) Unwrap() error { return e.Err }

func invalid(reason string) error      { return &Error{Err: ErrInvalidToken, Reason: reason} }
func logonFailure(reason string) error { return &Error{Err: ErrLogonFailure, Reason: reason} }
