package smbdirect

// The initiator (client) side beside Dial: constructors over a QP that is
// already connected (rdmafake's in the unit tests of upper layers, such as
// smb3/client), and what an SMB2 client needs to know of the negotiated
// connection to place READ and WRITE data by RDMA.

// Client takes over r, whose QP is already connected, and negotiates as
// the initiator (MS-SMBD 3.1.5.2, 3.1.5.7). On failure r is released.
// Over a real device use Dial, which connects first.
func Client(r Resources, opts Options) (*Conn, error) {
	return negotiated(r, opts, false)
}

// Server takes over r, whose QP is already connected, and waits for the
// peer's negotiate request and answers it (MS-SMBD 3.1.5.6). On failure r
// is released. Over a real device use Listen.
func Server(r Resources, opts Options) (*Conn, error) {
	return negotiated(r, opts, true)
}

func negotiated(r Resources, opts Options, server bool) (*Conn, error) {
	c, err := newConn(r, opts, server)
	if err != nil {
		if r.Release != nil {
			r.Release()
		}
		return nil, err
	}
	if server {
		err = c.serverNegotiate()
	} else {
		err = c.clientNegotiate()
	}
	if err != nil {
		c.fail(err)
		c.Close()
		return nil, err
	}
	return c, nil
}

// PeerMaxReadWriteSize is the largest RDMA transfer the server moves for
// one SMB2 READ or WRITE (MaxReadWriteSize of its negotiate response,
// MS-SMBD 2.2.2); 0 on a server-side connection.
func (c *Conn) PeerMaxReadWriteSize() int { return c.peerMaxRW }

// PeerMaxFragmentedSize is the largest upper-layer message the peer
// reassembles (MS-SMBD 2.2.1/2.2.2): the bound of an inline READ or WRITE.
func (c *Conn) PeerMaxFragmentedSize() int { return c.peerMaxFrag }
