package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
)

// plotTwoSides is a tickd side from 40 µs with a tail to about 1 ms, and a
// floor side of 15 to 25 µs.
func plotTwoSides(t testing.TB) []Side {
	t.Helper()
	tickd, floor := NewHistogram(), NewHistogram()
	for i := int64(0); i < 20000; i++ {
		if err := tickd.RecordValue(40_000 + i%20_000 + (i%1000)*(i%1000)); err != nil {
			t.Fatal(err)
		}
		if err := floor.RecordValue(15_000 + i%10_000); err != nil {
			t.Fatal(err)
		}
	}
	return []Side{
		{Name: "tickd", Hist: tickd, Sent: 20000, Received: 20000},
		{Name: "floor", Hist: floor, Sent: 20000, Received: 20000},
	}
}

func TestPlotSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePlotSVG(&buf, "tickd <vs> floor & co", plotTwoSides(t)); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	// Well-formed XML: decode every token of the document.
	dec := xml.NewDecoder(strings.NewReader(doc))
	var polylines, root int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "svg":
				root++
			case "polyline":
				polylines++
			case "script", "style", "link", "image":
				t.Fatalf("svg has external or active element <%s>", se.Name.Local)
			}
		}
	}
	if root != 1 || polylines != 2 {
		t.Fatalf("%d svg roots, %d polylines", root, polylines)
	}
	for _, want := range []string{">tickd<", ">floor<", ">0%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<", ">99.999%<",
		"tickd &lt;vs&gt; floor &amp; co", "Latency (µs)", "Percentile", "#1f77b4", "#ff7f0e"} {
		if !strings.Contains(doc, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if strings.Count(doc, "http") != 1 || strings.Contains(doc, "href") || strings.Contains(doc, "url(") { // the xmlns only
		t.Error("svg refers to something external")
	}
	// Deterministic for a given input.
	var again bytes.Buffer
	if err := WritePlotSVG(&again, "tickd <vs> floor & co", plotTwoSides(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("svg differs between two runs on the same input")
	}
}

func TestPlotPNG(t *testing.T) {
	var buf bytes.Buffer
	sides := plotTwoSides(t)
	if err := WritePlotPNG(&buf, "t", sides); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != plotW || b.Dy() != plotH {
		t.Fatalf("size %v", b)
	}
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}]++
		}
	}
	// Each curve is more than its legend swatch (28×10 pixels).
	for i := range sides {
		if n := counts[plotColors[i]]; n < 400 {
			t.Errorf("side %d colour %v: %d pixels", i, plotColors[i], n)
		}
	}
	if counts[color.RGBA{0, 0, 0, 0xff}] < 500 {
		t.Errorf("axes and labels: %d black pixels", counts[color.RGBA{0, 0, 0, 0xff}])
	}
	var again bytes.Buffer
	if err := WritePlotPNG(&again, "t", plotTwoSides(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("png differs between two runs on the same input")
	}
}

// The curves must go where the axes say: the floor (lower latency) lies below
// tickd at the median, and a value maps inside the plot area.
func TestPlotLayout(t *testing.T) {
	l := newPlotLayout(plotTwoSides(t))
	if l.decades != minDecades {
		t.Fatalf("decades %d", l.decades)
	}
	if l.yLo != 1 || l.yHi < 3 { // 15 µs .. ~1 ms
		t.Fatalf("y decades %d..%d", l.yLo, l.yHi)
	}
	_, yTickd := l.px(plotPoint{0.3, 50})
	_, yFloor := l.px(plotPoint{0.3, 20})
	if yFloor <= yTickd {
		t.Fatalf("20 µs drawn at y=%v, above 50 µs at y=%v", yFloor, yTickd)
	}
	for _, c := range l.curves {
		for _, p := range c.pts {
			x, y := l.px(p)
			if x < plotLeft-0.01 || x > plotW-plotRight+0.01 || y < plotTop-0.01 || y > plotH-plotBottom+0.01 {
				t.Fatalf("%s point %+v maps outside the plot to %v,%v", c.name, p, x, y)
			}
		}
	}
	// A 0 ns latency (a coarse clock) sits on the 1 ns floor of the log axis.
	zero := NewHistogram()
	for _, v := range []int64{0, 0, 5, 900} {
		if err := zero.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	lz := newPlotLayout([]Side{{Name: "inproc", Hist: zero}})
	if lz.yLo != -3 || lz.yHi != 0 || lz.curves[0].pts[0].y != 0.001 {
		t.Fatalf("zero latency: y decades %d..%d, first point %+v", lz.yLo, lz.yHi, lz.curves[0].pts[0])
	}
	// Nothing recorded: still a valid frame.
	var buf bytes.Buffer
	if err := WritePlotSVG(&buf, "empty", []Side{{Name: "inproc", Hist: NewHistogram()}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "inproc (no data)") {
		t.Fatal("empty side not marked")
	}
	if err := WritePlotPNG(io.Discard, "empty", nil); err != nil {
		t.Fatal(err)
	}
}
