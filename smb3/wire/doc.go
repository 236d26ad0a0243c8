// Package wire encodes and decodes SMB2/3 messages (MS-SMB2 section 2).
//
// Requests are decoded into zero-copy views over the received message: a
// view type such as CreateRequest is the whole message (the 64-byte header
// followed by the body) because every offset in an SMB2 body counts from the
// start of the header. Call Validate before any accessor; accessors then never
// slice out of bounds. Responses are encoded by Append functions that grow a
// byte slice. The package does no I/O and keeps no state.
package wire
