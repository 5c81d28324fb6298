package inventory

import (
	"bytes"
	"io"
	"os"
)

// Container formats recognised by their leading bytes.
const (
	FormatUnknown  = ""
	FormatAVI      = "avi"
	FormatMP4      = "mp4"
	FormatMatroska = "matroska"
	FormatMPEGTS   = "mpegts"
)

// mpegTSPacketSize is the fixed MPEG transport stream packet length. Every
// packet starts with the sync byte 0x47.
const mpegTSPacketSize = 188

// headerSize is the number of leading bytes DetectFormat needs to see the
// sync byte of the second MPEG-TS packet.
const headerSize = mpegTSPacketSize + 1

var matroskaMagic = []byte{0x1A, 0x45, 0xDF, 0xA3}

// DetectFormat returns the container format whose signature starts header,
// or FormatUnknown.
func DetectFormat(header []byte) string {
	switch {
	case len(header) >= 12 && bytes.Equal(header[0:4], []byte("RIFF")) && bytes.Equal(header[8:12], []byte("AVI ")):
		return FormatAVI
	case len(header) >= 8 && bytes.Equal(header[4:8], []byte("ftyp")):
		// MP4 and QuickTime MOV share the ISO base media "ftyp" box.
		return FormatMP4
	case len(header) >= 4 && bytes.Equal(header[0:4], matroskaMagic):
		// WebM is a Matroska profile and carries the same EBML magic.
		return FormatMatroska
	case len(header) > mpegTSPacketSize && header[0] == 0x47 && header[mpegTSPacketSize] == 0x47:
		return FormatMPEGTS
	}
	return FormatUnknown
}

// detectFileFormat reads the head of the file at path and detects its format.
func detectFileFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return FormatUnknown, err
	}
	defer f.Close()

	header := make([]byte, headerSize)
	n, err := io.ReadFull(f, header)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return FormatUnknown, err
	}
	return DetectFormat(header[:n]), nil
}
