package server

// disconnected reports whether o is a durable open whose connection is
// gone, waiting for a reconnect.
func (o *open) disconnected() bool { return false }
