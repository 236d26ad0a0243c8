//go:build !linux

package netif

import "errors"

// Discover is not supported off Linux.
func Discover(opts Options) ([]Interface, error) {
	return nil, errors.New("netif: interface discovery needs Linux")
}
