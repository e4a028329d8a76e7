package browsertest

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// The test card: four coloured quadrants, so that a capture can be checked to
// be a frame of the customer's camera (not a blank or the agent's own).
const cardW, cardH = 640, 480

var quadrants = [4][3]float64{
	{220, 30, 30},   // top left: red
	{30, 200, 60},   // top right: green
	{30, 60, 220},   // bottom left: blue
	{240, 240, 240}, // bottom right: white
}

// writeTestCard writes a few frames of the card as YUV4MPEG2 (4:2:0, full
// range, the format Chromium's fake camera plays) and returns its path.
func writeTestCard(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "testcard.y4m")
	f, err := os.Create(path) // #nosec G304 -- a file in the test's temporary folder
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", cardW, cardH)
	y := make([]byte, cardW*cardH)
	u := make([]byte, cardW*cardH/4)
	v := make([]byte, cardW*cardH/4)
	quad := func(x, yy, w, h int) int { return (yy*2/h)*2 + x*2/w }
	for row := 0; row < cardH; row++ {
		for col := 0; col < cardW; col++ {
			c := quadrants[quad(col, row, cardW, cardH)]
			y[row*cardW+col] = clamp(0.299*c[0] + 0.587*c[1] + 0.114*c[2])
		}
	}
	for row := 0; row < cardH/2; row++ {
		for col := 0; col < cardW/2; col++ {
			c := quadrants[quad(col, row, cardW/2, cardH/2)]
			u[row*cardW/2+col] = clamp(128 - 0.168736*c[0] - 0.331264*c[1] + 0.5*c[2])
			v[row*cardW/2+col] = clamp(128 + 0.5*c[0] - 0.418688*c[1] - 0.081312*c[2])
		}
	}
	for i := 0; i < 10; i++ {
		_, _ = w.WriteString("FRAME\n")
		_, _ = w.Write(y)
		_, _ = w.Write(u)
		_, _ = w.Write(v)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func clamp(x float64) byte {
	return byte(min(max(x, 0), 255))
}

// checkTestCard verifies that img shows the card: each quadrant's centre
// region averages close to its colour.
func checkTestCard(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	for q, want := range quadrants {
		x0, y0 := (q%2)*w/2+w/8, (q/2)*h/2+h/8
		var sum [3]float64
		n := 0
		for yy := y0; yy < y0+h/4; yy += 4 {
			for xx := x0; xx < x0+w/4; xx += 4 {
				r, g, bb, _ := img.At(b.Min.X+xx, b.Min.Y+yy).RGBA()
				sum[0] += float64(r >> 8)
				sum[1] += float64(g >> 8)
				sum[2] += float64(bb >> 8)
				n++
			}
		}
		for c := range 3 {
			got := sum[c] / float64(n)
			if d := got - want[c]; d > 45 || d < -45 {
				t.Fatalf("quadrant %d channel %d averages %.0f, want about %.0f: the capture is not the customer's test card", q, c, got, want[c])
			}
		}
	}
}
