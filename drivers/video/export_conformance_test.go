package video

// Test helpers shared with the conformance tests in package video_test.
var (
	// ImportTestImage builds the busybox test image into the local dockerd.
	ImportTestImage = importTestImage
)

// Labels and image names shared with the conformance tests.
const (
	TestImage    = testImage
	LabelAllocID = labelAllocID
)
