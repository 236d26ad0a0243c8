package fscc

// Named pipe constants (MS-FSCC 2.4 FilePipeInformation,
// FilePipeLocalInformation).
const (
	FilePipeByteStreamMode = 0x00000000
	FilePipeMessageMode    = 0x00000001

	FilePipeQueueOperation    = 0x00000000
	FilePipeCompleteOperation = 0x00000001

	FilePipeByteStreamType = 0x00000000
	FilePipeMessageType    = 0x00000001

	FilePipeInbound    = 0x00000000
	FilePipeOutbound   = 0x00000001
	FilePipeFullDuplex = 0x00000002

	FilePipeDisconnectedState = 0x00000001
	FilePipeListeningState    = 0x00000002
	FilePipeConnectedState    = 0x00000003
	FilePipeClosingState      = 0x00000004

	FilePipeClientEnd = 0x00000000
	FilePipeServerEnd = 0x00000001
)

// PipeInformation is FILE_PIPE_INFORMATION: ReadMode and CompletionMode, 8
// bytes; clients set it on IPC$ pipes.
type PipeInformation struct {
	ReadMode       uint32 // FilePipeByteStreamMode or FilePipeMessageMode
	CompletionMode uint32 // FilePipeQueueOperation or FilePipeCompleteOperation
}

// PipeInformationSize is the encoded size.
const PipeInformationSize = 8

// DecodePipeInformation decodes a SET_INFO FilePipeInformation buffer;
// values other than 0 and 1 are invalid.
func DecodePipeInformation(b []byte) (PipeInformation, error) {
	const what = "FILE_PIPE_INFORMATION"
	if len(b) < PipeInformationSize {
		return PipeInformation{}, short(what, PipeInformationSize, len(b))
	}
	p := PipeInformation{ReadMode: u32(b), CompletionMode: u32(b[4:])}
	if p.ReadMode > 1 || p.CompletionMode > 1 {
		return PipeInformation{}, malformed(what, "ReadMode %d CompletionMode %d", p.ReadMode, p.CompletionMode)
	}
	return p, nil
}

// Append encodes the structure.
func (p *PipeInformation) Append(b []byte) []byte {
	b = le32(b, p.ReadMode)
	return le32(b, p.CompletionMode)
}

// PipeLocalInformation is FILE_PIPE_LOCAL_INFORMATION, 40 bytes.
type PipeLocalInformation struct {
	NamedPipeType          uint32
	NamedPipeConfiguration uint32
	MaximumInstances       uint32
	CurrentInstances       uint32
	InboundQuota           uint32
	ReadDataAvailable      uint32
	OutboundQuota          uint32
	WriteQuotaAvailable    uint32
	NamedPipeState         uint32
	NamedPipeEnd           uint32
}

// PipeLocalInformationSize is the encoded size.
const PipeLocalInformationSize = 40

// Append encodes the structure.
func (p *PipeLocalInformation) Append(b []byte) []byte {
	for _, v := range [...]uint32{p.NamedPipeType, p.NamedPipeConfiguration, p.MaximumInstances,
		p.CurrentInstances, p.InboundQuota, p.ReadDataAvailable, p.OutboundQuota,
		p.WriteQuotaAvailable, p.NamedPipeState, p.NamedPipeEnd} {
		b = le32(b, v)
	}
	return b
}

// PipeWaitRequest is FSCTL_PIPE_WAIT_REQUEST (MS-FSCC 2.3): Timeout (8),
// NameLength (4), TimeoutSpecified (1), Padding (1), Name.
type PipeWaitRequest struct {
	Timeout          int64 // 100ns units, negative = relative
	TimeoutSpecified bool
	Name             string
}

const pipeWaitFixed = 14

// DecodePipeWaitRequest decodes the FSCTL_PIPE_WAIT input.
func DecodePipeWaitRequest(b []byte) (PipeWaitRequest, error) {
	const what = "FSCTL_PIPE_WAIT_REQUEST"
	if len(b) < pipeWaitFixed {
		return PipeWaitRequest{}, short(what, pipeWaitFixed, len(b))
	}
	n := int(u32(b[8:]))
	if n > len(b)-pipeWaitFixed {
		return PipeWaitRequest{}, short(what, pipeWaitFixed+n, len(b))
	}
	name, err := decodeName(what, "Name", b[pipeWaitFixed:pipeWaitFixed+n])
	if err != nil {
		return PipeWaitRequest{}, err
	}
	return PipeWaitRequest{Timeout: int64(u64(b)), TimeoutSpecified: b[12] != 0, Name: name}, nil
}

// Append encodes the request.
func (p *PipeWaitRequest) Append(b []byte) []byte {
	b = le64(b, uint64(p.Timeout))
	b = le32(b, uint32(UTF16Len(p.Name)))
	b = append(b, boolByte(p.TimeoutSpecified), 0)
	return AppendUTF16(b, p.Name)
}

// AppendPipePeekBuffer appends FILE_PIPE_PEEK_BUFFER (MS-FSCC 2.3), the
// FSCTL_PIPE_PEEK output: NamedPipeState, ReadDataAvailable,
// NumberOfMessages, MessageLength (4 bytes each), then data.
func AppendPipePeekBuffer(b []byte, state, readDataAvailable, numberOfMessages, messageLength uint32, data []byte) []byte {
	b = le32(b, state)
	b = le32(b, readDataAvailable)
	b = le32(b, numberOfMessages)
	b = le32(b, messageLength)
	return append(b, data...)
}
