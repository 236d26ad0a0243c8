// smb3d_verbs.h: a thin C shim over libibverbs/librdmacm for package rdma.
//
// It exists for two reasons: many verbs are static inline functions that cgo
// cannot call (ibv_post_send, ibv_poll_cq, ibv_req_notify_cq, ...), and the
// verbs' own structures hold pointers, which Go memory passed to C must not.
// Work requests and completions therefore cross the boundary as flat,
// pointer-free structs in caller-owned arrays; the shim builds the linked
// ibv_* structures on its own stack for the duration of one call. C keeps no
// pointer into Go memory after a call returns.
#ifndef SMB3D_VERBS_H
#define SMB3D_VERBS_H

#include <stdint.h>
#include <sys/types.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

// Limits of one smb3d_post_send/smb3d_post_recv call (the stack arrays).
#define SMB3D_MAX_POST_WR 64
#define SMB3D_MAX_POST_SGE 256

// smb3d_wc is a flattened struct ibv_wc.
struct smb3d_wc {
	uint64_t wr_id;
	uint32_t status;
	uint32_t opcode;
	uint32_t vendor_err;
	uint32_t byte_len;
	uint32_t imm_or_inv; // imm_data (host order) or invalidated_rkey, see wc_flags
	uint32_t qp_num;
	uint32_t wc_flags;
	uint32_t pad;
};

// smb3d_send_wr is a flattened struct ibv_send_wr; its scatter/gather
// entries are the next num_sge entries of the sge array passed alongside.
struct smb3d_send_wr {
	uint64_t wr_id;
	uint64_t remote_addr;
	uint32_t opcode;
	uint32_t send_flags;
	uint32_t num_sge;
	uint32_t rkey;
	uint32_t imm_or_inv; // imm_data (host order) or invalidate_rkey
	uint32_t bind_access;
	struct ibv_mw *bind_mw;   // IBV_WR_BIND_MW only (C memory)
	struct ibv_mr *bind_mr;   // IBV_WR_BIND_MW only (C memory)
	uint64_t bind_addr;
	uint64_t bind_length;
	uint32_t bind_rkey;
	uint32_t pad;
};

struct smb3d_recv_wr {
	uint64_t wr_id;
	uint32_t num_sge;
	uint32_t pad;
};

// smb3d_cm_event is a copy of a struct rdma_cm_event taken before it is acked.
struct smb3d_cm_event {
	int32_t event;
	int32_t status;
	struct rdma_cm_id *id;
	struct rdma_cm_id *listen_id;
	uint8_t private_data_len;
	uint8_t responder_resources;
	uint8_t initiator_depth;
	uint8_t retry_count;
	uint8_t rnr_retry_count;
	uint8_t pad[3];
	uint8_t private_data[256];
};

// smb3d_addr is an IPv4 or IPv6 address and port (ip_len 4 or 16; 0 = none).
struct smb3d_addr {
	uint8_t ip[16];
	uint32_t ip_len;
	uint32_t scope_id;
	uint16_t port;
	uint16_t pad[3];
};

int smb3d_poll_cq(struct ibv_cq *cq, int n, struct smb3d_wc *out);
int smb3d_req_notify_cq(struct ibv_cq *cq, int solicited_only);
int smb3d_post_send(struct ibv_qp *qp, int n, const struct smb3d_send_wr *wrs,
                    const struct ibv_sge *sges, int *bad_index);
int smb3d_post_recv(struct ibv_qp *qp, int n, const struct smb3d_recv_wr *wrs,
                    const struct ibv_sge *sges, int *bad_index);
ssize_t smb3d_query_gid_table(struct ibv_context *ctx, struct ibv_gid_entry *entries,
                              size_t max_entries);
int smb3d_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr);
int smb3d_qp_to_error(struct ibv_qp *qp);
int smb3d_qp_state(struct ibv_qp *qp);
uint32_t smb3d_inc_rkey(uint32_t rkey);

int smb3d_get_cm_event(struct rdma_event_channel *ch, struct smb3d_cm_event *out);
int smb3d_bind_addr(struct rdma_cm_id *id, const struct smb3d_addr *a);
int smb3d_resolve_addr(struct rdma_cm_id *id, const struct smb3d_addr *src,
                       const struct smb3d_addr *dst, int timeout_ms);
void smb3d_local_addr(struct rdma_cm_id *id, struct smb3d_addr *out);
void smb3d_peer_addr(struct rdma_cm_id *id, struct smb3d_addr *out);
int smb3d_set_nonblock(int fd);

#endif
