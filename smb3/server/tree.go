package server

import (
	"strings"

	"smb3d/smb3/wire"
)

// tree is a tree connect (MS-SMB2 3.3.1.10).
type tree struct {
	id      uint32
	share   *share
	sess    *session
	encrypt bool
	access  uint32
}

func (t *tree) disconnect() {
	t.sess.srv.opens.closeTree(t)
}

// Maximal access for read-write and read-only shares.
const (
	accessAllFile  uint32 = 0x001F01FF
	accessReadOnly uint32 = 0x001200A9
)

// handleTreeConnect is SMB2 TREE_CONNECT (MS-SMB2 3.3.5.7).
func handleTreeConnect(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.TreeConnectRequest(r.msg)
	path, ok := decodeName(req.Path())
	if !ok {
		return out, wire.StatusInvalidParameter
	}
	name, ok := parseSharePath(path)
	if !ok {
		return out, wire.StatusBadNetworkName
	}
	sh := r.c.srv.lookupShare(name)
	if sh == nil {
		return out, wire.StatusBadNetworkName
	}
	sess := r.sess
	sess.mu.Lock()
	guest := sess.guest || sess.anon
	canEncrypt := sess.enc != nil
	sess.mu.Unlock()
	if guest && !sh.ipc && !sh.cfg.GuestOK {
		return out, wire.StatusAccessDenied
	}
	if len(sh.cfg.ValidUsers) > 0 && !sh.ipc {
		sess.mu.Lock()
		user := sess.user
		sess.mu.Unlock()
		ok := false
		for _, u := range sh.cfg.ValidUsers {
			if strings.EqualFold(u, user) {
				ok = true
			}
		}
		if !ok || guest {
			r.c.srv.reject("not-a-valid-user", "share", sh.cfg.Name, "user", user)
			return out, wire.StatusAccessDenied
		}
	}
	encrypt := sh.cfg.EncryptData || r.c.srv.cfg.EncryptData
	if sh.cfg.EncryptData && !canEncrypt {
		r.c.srv.reject("share-needs-encryption", "share", sh.cfg.Name)
		return out, wire.StatusAccessDenied
	}
	if !canEncrypt {
		encrypt = false
	}
	t := &tree{share: sh, sess: sess, encrypt: encrypt}
	shareType := wire.ShareTypeDisk
	var flags uint32 = wire.ShareFlagManualCaching
	access := accessAllFile
	if sh.ipc {
		shareType = wire.ShareTypePipe
		flags = wire.ShareFlagNoCaching
	} else if sh.cfg.ReadOnly {
		access = accessReadOnly
	}
	if encrypt {
		flags |= wire.ShareFlagEncryptData
	}
	t.access = access
	sess.mu.Lock()
	for {
		sess.nextTree++
		if sess.nextTree != 0 && sess.nextTree != ^uint32(0) && sess.trees[sess.nextTree] == nil {
			break
		}
	}
	t.id = sess.nextTree
	sess.trees[t.id] = t
	sess.mu.Unlock()
	r.tree = t
	st.tree = t
	return wire.AppendTreeConnectResponse(out, shareType, flags, 0, access), wire.StatusSuccess
}

// handleTreeDisconnect is SMB2 TREE_DISCONNECT (MS-SMB2 3.3.5.8).
func handleTreeDisconnect(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	t := r.tree
	sess := r.sess
	sess.mu.Lock()
	if sess.trees[t.id] != t {
		sess.mu.Unlock()
		return out, wire.StatusNetworkNameDeleted
	}
	delete(sess.trees, t.id)
	sess.mu.Unlock()
	t.disconnect()
	return wire.AppendEmptyResponse(out), wire.StatusSuccess
}
