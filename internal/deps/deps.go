// Package deps pins the modules the project builds on so go.mod keeps them
// while the packages that use them are written. It has no code.
package deps

import (
	_ "github.com/Mellanox/rdmamap"
	_ "github.com/hirochachacha/go-smb2"
	_ "github.com/jaypipes/ghw"
	_ "github.com/vishvananda/netlink"
	_ "golang.org/x/sys/unix"
)
