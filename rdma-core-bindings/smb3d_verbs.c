//go:build rdma && cgo && linux

#include "smb3d_verbs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

int smb3d_poll_cq(struct ibv_cq *cq, int n, struct smb3d_wc *out) {
	struct ibv_wc wc[32];
	int total = 0;
	while (total < n) {
		int want = n - total;
		if (want > 32)
			want = 32;
		int got = ibv_poll_cq(cq, want, wc);
		if (got < 0)
			return got;
		for (int i = 0; i < got; i++) {
			struct smb3d_wc *o = &out[total + i];
			o->wr_id = wc[i].wr_id;
			o->status = wc[i].status;
			o->opcode = wc[i].opcode;
			o->vendor_err = wc[i].vendor_err;
			o->byte_len = wc[i].byte_len;
			o->qp_num = wc[i].qp_num;
			o->wc_flags = wc[i].wc_flags;
			if (wc[i].wc_flags & IBV_WC_WITH_IMM)
				o->imm_or_inv = ntohl(wc[i].imm_data);
			else
				o->imm_or_inv = wc[i].invalidated_rkey;
		}
		total += got;
		if (got < want)
			break;
	}
	return total;
}

int smb3d_req_notify_cq(struct ibv_cq *cq, int solicited_only) {
	return ibv_req_notify_cq(cq, solicited_only);
}

int smb3d_post_send(struct ibv_qp *qp, int n, const struct smb3d_send_wr *wrs,
                    const struct ibv_sge *sges, int *bad_index) {
	struct ibv_send_wr w[SMB3D_MAX_POST_WR];
	struct ibv_sge s[SMB3D_MAX_POST_SGE];
	struct ibv_send_wr *bad = NULL;
	int nsge = 0;

	*bad_index = 0;
	if (n <= 0 || n > SMB3D_MAX_POST_WR)
		return EINVAL;
	memset(w, 0, sizeof(w[0]) * n);
	for (int i = 0; i < n; i++) {
		const struct smb3d_send_wr *in = &wrs[i];
		if (in->num_sge > SMB3D_MAX_POST_SGE - nsge) {
			*bad_index = i;
			return EINVAL;
		}
		memcpy(&s[nsge], &sges[nsge], sizeof(s[0]) * in->num_sge);
		w[i].wr_id = in->wr_id;
		w[i].next = i + 1 < n ? &w[i + 1] : NULL;
		w[i].sg_list = in->num_sge ? &s[nsge] : NULL;
		w[i].num_sge = in->num_sge;
		w[i].opcode = in->opcode;
		w[i].send_flags = in->send_flags;
		nsge += in->num_sge;
		switch (in->opcode) {
		case IBV_WR_SEND_WITH_IMM:
			w[i].imm_data = htonl(in->imm_or_inv);
			break;
		case IBV_WR_RDMA_WRITE_WITH_IMM:
			w[i].imm_data = htonl(in->imm_or_inv);
			/* fallthrough */
		case IBV_WR_RDMA_WRITE:
		case IBV_WR_RDMA_READ:
			w[i].wr.rdma.remote_addr = in->remote_addr;
			w[i].wr.rdma.rkey = in->rkey;
			break;
		case IBV_WR_SEND_WITH_INV:
		case IBV_WR_LOCAL_INV:
			w[i].invalidate_rkey = in->imm_or_inv;
			break;
		case IBV_WR_BIND_MW:
			w[i].bind_mw.mw = in->bind_mw;
			w[i].bind_mw.rkey = in->bind_rkey;
			w[i].bind_mw.bind_info.mr = in->bind_mr;
			w[i].bind_mw.bind_info.addr = in->bind_addr;
			w[i].bind_mw.bind_info.length = in->bind_length;
			w[i].bind_mw.bind_info.mw_access_flags = in->bind_access;
			break;
		default:
			break;
		}
	}
	int rc = ibv_post_send(qp, w, &bad);
	if (rc && bad)
		*bad_index = (int)(bad - w);
	return rc;
}

int smb3d_post_recv(struct ibv_qp *qp, int n, const struct smb3d_recv_wr *wrs,
                    const struct ibv_sge *sges, int *bad_index) {
	struct ibv_recv_wr w[SMB3D_MAX_POST_WR];
	struct ibv_sge s[SMB3D_MAX_POST_SGE];
	struct ibv_recv_wr *bad = NULL;
	int nsge = 0;

	*bad_index = 0;
	if (n <= 0 || n > SMB3D_MAX_POST_WR)
		return EINVAL;
	for (int i = 0; i < n; i++) {
		if (wrs[i].num_sge > SMB3D_MAX_POST_SGE - nsge) {
			*bad_index = i;
			return EINVAL;
		}
		memcpy(&s[nsge], &sges[nsge], sizeof(s[0]) * wrs[i].num_sge);
		w[i].wr_id = wrs[i].wr_id;
		w[i].next = i + 1 < n ? &w[i + 1] : NULL;
		w[i].sg_list = wrs[i].num_sge ? &s[nsge] : NULL;
		w[i].num_sge = wrs[i].num_sge;
		nsge += wrs[i].num_sge;
	}
	int rc = ibv_post_recv(qp, w, &bad);
	if (rc && bad)
		*bad_index = (int)(bad - w);
	return rc;
}

ssize_t smb3d_query_gid_table(struct ibv_context *ctx, struct ibv_gid_entry *entries,
                              size_t max_entries) {
	return ibv_query_gid_table(ctx, entries, max_entries, 0);
}

int smb3d_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr) {
	return ibv_query_port(ctx, port, attr);
}

int smb3d_qp_to_error(struct ibv_qp *qp) {
	struct ibv_qp_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.qp_state = IBV_QPS_ERR;
	return ibv_modify_qp(qp, &attr, IBV_QP_STATE);
}

int smb3d_qp_state(struct ibv_qp *qp) {
	struct ibv_qp_attr attr;
	struct ibv_qp_init_attr init;
	int rc = ibv_query_qp(qp, &attr, IBV_QP_STATE, &init);
	if (rc)
		return -rc;
	return attr.qp_state;
}

uint32_t smb3d_inc_rkey(uint32_t rkey) { return ibv_inc_rkey(rkey); }

int smb3d_get_cm_event(struct rdma_event_channel *ch, struct smb3d_cm_event *out) {
	struct rdma_cm_event *ev = NULL;
	if (rdma_get_cm_event(ch, &ev))
		return -errno;
	memset(out, 0, sizeof(*out));
	out->event = ev->event;
	out->status = ev->status;
	out->id = ev->id;
	out->listen_id = ev->listen_id;
	if (ev->id && ev->id->ps != RDMA_PS_UDP) {
		const struct rdma_conn_param *p = &ev->param.conn;
		uint8_t n = p->private_data_len;
		if (p->private_data && n)
			memcpy(out->private_data, p->private_data, n);
		out->private_data_len = p->private_data ? n : 0;
		out->responder_resources = p->responder_resources;
		out->initiator_depth = p->initiator_depth;
		out->retry_count = p->retry_count;
		out->rnr_retry_count = p->rnr_retry_count;
	}
	rdma_ack_cm_event(ev);
	return 0;
}

static socklen_t to_sockaddr(const struct smb3d_addr *a, struct sockaddr_storage *ss) {
	memset(ss, 0, sizeof(*ss));
	if (a->ip_len == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->ip, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(a->port);
	sin6->sin6_scope_id = a->scope_id;
	memcpy(&sin6->sin6_addr, a->ip, 16);
	return sizeof(*sin6);
}

static void from_sockaddr(const struct sockaddr *sa, struct smb3d_addr *out) {
	memset(out, 0, sizeof(*out));
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		memcpy(out->ip, &sin->sin_addr, 4);
		out->ip_len = 4;
		out->port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(out->ip, &sin6->sin6_addr, 16);
		out->ip_len = 16;
		out->scope_id = sin6->sin6_scope_id;
		out->port = ntohs(sin6->sin6_port);
	}
}

int smb3d_bind_addr(struct rdma_cm_id *id, const struct smb3d_addr *a) {
	struct sockaddr_storage ss;
	to_sockaddr(a, &ss);
	return rdma_bind_addr(id, (struct sockaddr *)&ss);
}

int smb3d_resolve_addr(struct rdma_cm_id *id, const struct smb3d_addr *src,
                       const struct smb3d_addr *dst, int timeout_ms) {
	struct sockaddr_storage s, d;
	to_sockaddr(dst, &d);
	if (src && src->ip_len) {
		to_sockaddr(src, &s);
		return rdma_resolve_addr(id, (struct sockaddr *)&s, (struct sockaddr *)&d, timeout_ms);
	}
	return rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, timeout_ms);
}

void smb3d_local_addr(struct rdma_cm_id *id, struct smb3d_addr *out) {
	from_sockaddr(rdma_get_local_addr(id), out);
}

void smb3d_peer_addr(struct rdma_cm_id *id, struct smb3d_addr *out) {
	from_sockaddr(rdma_get_peer_addr(id), out);
}

int smb3d_set_nonblock(int fd) {
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}
