module smb3d

go 1.26.0

require (
	github.com/Mellanox/rdmamap v1.1.0
	github.com/hirochachacha/go-smb2 v1.1.0
	github.com/jaypipes/ghw v0.27.0
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	golang.org/x/sys v0.50.0
)

require (
	github.com/geoffgarside/ber v1.1.0 // indirect
	github.com/go-ole/go-ole v1.2.6 // indirect
	github.com/jaypipes/pcidb v1.1.1 // indirect
	github.com/yusufpapurcu/wmi v1.2.4 // indirect
	golang.org/x/crypto v0.0.0-20200728195943-123391ffb6de // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
	howett.net/plist v1.0.2-0.20250314012144-ee69052608d9 // indirect
)
