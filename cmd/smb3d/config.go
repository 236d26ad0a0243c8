package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"smb3d/numa"
	"smb3d/smb3/server"
	"smb3d/smb3/wire"
	"smb3d/transport/netif"
	"smb3d/transport/tcp"
)

// Config is the parsed configuration file: an smb.conf-like INI format with a
// [global] section and one section per share.
type Config struct {
	Listen          []string
	TCPTransport    string // "tcp transport": "uring" (default; the netpoller when io_uring is unavailable) or "netpoll"
	ServerName      string
	Workgroup       string
	UsersFile       string
	KerberosKeytab  string // "kerberos keytab": enables Kerberos logons (cifs/host keys)
	Realm           string // "realm": the client realm mapped to users; "" = the keytab's
	ClockSkew       int    // "kerberos clock skew", seconds; 0 = 300
	DisableNTLM     bool   // "ntlm auth = no": Kerberos only
	SigningRequired bool
	EncryptData     bool
	EncryptRequired bool
	MinProtocol     wire.Dialect
	MaxProtocol     wire.Dialect
	Multichannel    bool
	SmbtortureFsctl bool             // Samba's test-only FSCTL_SMBTORTURE (smbd:FSCTL_SMBTORTURE); off by default
	Interfaces      []netif.Override // "interfaces = IF;capability=RSS,speed=N" lines
	InterfaceNames  []string
	GuestOK         bool
	NullSessions    bool
	MaxConnections  int
	MaxOpens        int
	AuthTimeout     int // seconds
	MaxCredits      int
	MaxConnMemoryMB int
	ControlSocket   string
	MetricsListen   string
	RDMAListen      []string
	NUMA            numa.Policy
	LogLevel        slog.Level
	Shares          []server.ShareConfig
}

// ConfigError names the file, line and problem.
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

func defaultConfig() *Config {
	return &Config{
		Listen:         []string{"0.0.0.0:445"},
		ServerName:     "SMB3D",
		Workgroup:      "WORKGROUP",
		MinProtocol:    wire.Dialect210,
		MaxProtocol:    wire.Dialect311,
		Multichannel:   false,
		MaxConnections: 4096,
		MaxOpens:       65536,
		AuthTimeout:    60,
		LogLevel:       slog.LevelInfo,
	}
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(f, path)
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "true", "1", "on":
		return true, true
	case "no", "false", "0", "off":
		return false, true
	}
	return false, false
}

func parseDialect(v string) (wire.Dialect, bool) {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "SMB2_02", "2.0.2", "2.02":
		return wire.Dialect202, true
	case "SMB2_10", "2.1", "2.10":
		return wire.Dialect210, true
	case "SMB3_00", "3.0", "3.00", "SMB3":
		return wire.Dialect300, true
	case "SMB3_02", "3.0.2", "3.02":
		return wire.Dialect302, true
	case "SMB3_11", "3.1.1", "3.11":
		return wire.Dialect311, true
	}
	return 0, false
}

// ParseConfig parses a configuration; name is used in error messages.
func ParseConfig(r io.Reader, name string) (*Config, error) {
	cfg := defaultConfig()
	sc := bufio.NewScanner(r)
	section := ""
	var cur *server.ShareConfig
	lineNo := 0
	seenListen := false
	shareLine := map[string]int{}
	ntlmLine := 0
	errf := func(format string, a ...any) error {
		return &ConfigError{File: name, Line: lineNo, Msg: fmt.Sprintf(format, a...)}
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, errf("section header %q has no closing ']'", line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			if section == "" {
				return nil, errf("empty section name")
			}
			if strings.EqualFold(section, "global") {
				section = "global"
				cur = nil
				continue
			}
			if strings.EqualFold(section, "IPC$") {
				return nil, errf("share name IPC$ is reserved")
			}
			if strings.ContainsAny(section, `\/:*?"<>|`) || len(section) > 80 {
				return nil, errf("invalid share name %q", section)
			}
			if prev, dup := shareLine[strings.ToUpper(section)]; dup {
				return nil, errf("share %q already defined on line %d", section, prev)
			}
			shareLine[strings.ToUpper(section)] = lineNo
			cfg.Shares = append(cfg.Shares, server.ShareConfig{Name: section})
			cur = &cfg.Shares[len(cfg.Shares)-1]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, errf("expected 'key = value', got %q", line)
		}
		key := strings.ToLower(strings.Join(strings.Fields(k), " "))
		val := strings.TrimSpace(v)
		if section == "" {
			return nil, errf("%q outside any section (start with [global])", key)
		}
		boolVal := func() (bool, error) {
			b, ok := parseBool(val)
			if !ok {
				return false, errf("%s: %q is not yes or no", key, val)
			}
			return b, nil
		}
		intVal := func(min int) (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil || n < min {
				return 0, errf("%s: %q is not a whole number >= %d", key, val, min)
			}
			return n, nil
		}
		var err error
		if section == "global" {
			switch key {
			case "listen":
				if !seenListen {
					cfg.Listen = nil
					seenListen = true
				}
				for _, a := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
					if !strings.Contains(a, ":") {
						a += ":445"
					}
					cfg.Listen = append(cfg.Listen, a)
				}
				if len(cfg.Listen) == 0 {
					return nil, errf("listen: no address")
				}
			case "server name", "netbios name":
				cfg.ServerName = val
			case "workgroup":
				cfg.Workgroup = val
			case "users file":
				cfg.UsersFile = val
			case "kerberos keytab", "dedicated keytab file":
				if val == "" {
					return nil, errf("%s: empty path", key)
				}
				cfg.KerberosKeytab = strings.TrimPrefix(val, "FILE:")
			case "realm", "kerberos realm":
				if val == "" || strings.ContainsAny(val, " /@\t") {
					return nil, errf("%s: %q is not a Kerberos realm (e.g. EXAMPLE.COM)", key, val)
				}
				cfg.Realm = val
			case "kerberos clock skew":
				cfg.ClockSkew, err = intVal(1)
			case "ntlm auth":
				ntlmLine = lineNo
				switch strings.ToLower(val) {
				case "ntlmv2-only", "mschapv2-and-ntlmv2-only":
					cfg.DisableNTLM = false
				case "disabled":
					cfg.DisableNTLM = true
				default:
					var on bool
					on, err = boolVal()
					cfg.DisableNTLM = !on
				}
			case "signing required", "server signing":
				if strings.EqualFold(val, "mandatory") || strings.EqualFold(val, "required") {
					cfg.SigningRequired = true
				} else {
					cfg.SigningRequired, err = boolVal()
				}
			case "encrypt data", "server smb encrypt":
				switch strings.ToLower(val) {
				case "required", "mandatory":
					cfg.EncryptData, cfg.EncryptRequired = true, true
				case "desired":
					cfg.EncryptData = true
				default:
					cfg.EncryptData, err = boolVal()
				}
			case "min protocol", "server min protocol":
				d, ok := parseDialect(val)
				if !ok {
					return nil, errf("%s: unknown dialect %q (use 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)", key, val)
				}
				cfg.MinProtocol = d
			case "max protocol", "server max protocol":
				d, ok := parseDialect(val)
				if !ok {
					return nil, errf("%s: unknown dialect %q (use 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)", key, val)
				}
				cfg.MaxProtocol = d
			case "multichannel", "server multi channel support":
				cfg.Multichannel, err = boolVal()
			case "smbtorture fsctl", "smbd:fsctl_smbtorture":
				cfg.SmbtortureFsctl, err = boolVal()
			case "interfaces":
				for _, item := range strings.Fields(strings.Trim(val, `"`)) {
					o, e := netif.ParseOverride(strings.Trim(item, `"`))
					if e != nil {
						return nil, errf("%v", e)
					}
					cfg.Interfaces = append(cfg.Interfaces, o)
					cfg.InterfaceNames = append(cfg.InterfaceNames, o.Name)
				}
			case "guest ok", "map to guest":
				if key == "map to guest" {
					cfg.GuestOK = strings.EqualFold(val, "bad user")
				} else {
					cfg.GuestOK, err = boolVal()
				}
			case "null sessions", "allow anonymous":
				cfg.NullSessions, err = boolVal()
			case "restrict anonymous":
				var n int
				n, err = intVal(0)
				cfg.NullSessions = n == 0
			case "max connections":
				cfg.MaxConnections, err = intVal(1)
			case "max open files":
				cfg.MaxOpens, err = intVal(1)
			case "auth timeout":
				cfg.AuthTimeout, err = intVal(1)
			case "max credits", "smb2 max credits":
				cfg.MaxCredits, err = intVal(1)
				if err == nil && cfg.MaxCredits > 65535 {
					return nil, errf("max credits: %d is above 65535", cfg.MaxCredits)
				}
			case "rdma listen":
				for _, a := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
					if !strings.Contains(a, ":") {
						a += ":5445"
					}
					cfg.RDMAListen = append(cfg.RDMAListen, a)
				}
			case "numa":
				p, e := numa.ParsePolicy(val)
				if e != nil {
					return nil, errf("numa: %v (use auto, off or a node number)", e)
				}
				cfg.NUMA = p
			case "control socket":
				cfg.ControlSocket = val
			case "metrics listen":
				cfg.MetricsListen = val
			case "max connection memory":
				cfg.MaxConnMemoryMB, err = intVal(1)
			case "tcp transport":
				if v := strings.ToLower(val); v == tcp.TransportURing || v == tcp.TransportNetpoll {
					cfg.TCPTransport = v
				} else {
					return nil, errf("tcp transport: %q is not uring or netpoll", val)
				}
			case "log level":
				if e := cfg.LogLevel.UnmarshalText([]byte(val)); e != nil {
					return nil, errf("log level: %q is not debug, info, warn or error", val)
				}
			default:
				return nil, errf("unknown option %q in [global]", key)
			}
		} else {
			switch key {
			case "path":
				cur.Path = val
			case "read only":
				cur.ReadOnly, err = boolVal()
			case "writable", "writeable":
				var w bool
				w, err = boolVal()
				cur.ReadOnly = !w
			case "encrypt data", "smb encrypt":
				if strings.EqualFold(val, "required") {
					cur.EncryptData = true
				} else {
					cur.EncryptData, err = boolVal()
				}
			case "guest ok":
				cur.GuestOK, err = boolVal()
			case "case sensitive":
				cur.CaseSensitive, err = boolVal()
			case "comment":
				cur.Comment = val
			case "valid users":
				for _, u := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
					cur.ValidUsers = append(cur.ValidUsers, u)
				}
			default:
				return nil, errf("unknown option %q in share [%s]", key, section)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cfg.MinProtocol > cfg.MaxProtocol {
		return nil, &ConfigError{File: name, Line: lineNo, Msg: "min protocol is above max protocol"}
	}
	for _, s := range cfg.Shares {
		if s.Path == "" {
			return nil, &ConfigError{File: name, Line: shareLine[strings.ToUpper(s.Name)], Msg: fmt.Sprintf("share [%s] has no path", s.Name)}
		}
		if !filepath.IsAbs(s.Path) {
			return nil, &ConfigError{File: name, Line: shareLine[strings.ToUpper(s.Name)], Msg: fmt.Sprintf("share [%s]: path %q must be absolute", s.Name, s.Path)}
		}
	}
	if cfg.UsersFile != "" && !filepath.IsAbs(cfg.UsersFile) {
		cfg.UsersFile = filepath.Join(filepath.Dir(name), cfg.UsersFile)
	}
	if cfg.KerberosKeytab != "" && !filepath.IsAbs(cfg.KerberosKeytab) {
		cfg.KerberosKeytab = filepath.Join(filepath.Dir(name), cfg.KerberosKeytab)
	}
	if cfg.DisableNTLM && cfg.KerberosKeytab == "" {
		return nil, &ConfigError{File: name, Line: ntlmLine, Msg: "ntlm auth = no needs a kerberos keytab: no logon would be possible"}
	}
	return cfg, nil
}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }
