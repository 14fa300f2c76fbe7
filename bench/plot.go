package bench

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The latency plot is the classic HdrHistogram percentile plot: latency on a
// log y axis against percentile on a log "1/(1-percentile)" x axis, where
// each decade is one more nine (0%, 90%, 99%, 99.9%, ...), so the tail gets
// as much room as the body. The SVG and the PNG share one layout.
const (
	plotW, plotH = 960, 600
	plotLeft     = 90 // room for the y labels
	plotRight    = 50 // room for half of the last x label
	plotTop      = 50 // room for the title
	plotBottom   = 70 // room for the x labels
	minDecades   = 5  // the x axis always reaches 99.999%
	maxDecades   = 9
)

// plotColors are the curve colours, one per side in order (they repeat past
// the sixth side).
var plotColors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
}

type plotPoint struct{ x, y float64 } // x in decades of 1/(1-p), y in µs

type plotCurve struct {
	name  string
	color color.RGBA
	pts   []plotPoint // empty when the side recorded nothing
}

// plotLayout is everything both renderers draw: the curves and the axis
// ranges (x in decades, y in powers of ten of µs).
type plotLayout struct {
	curves     []plotCurve
	decades    int
	yLo, yHi   int
	minV, maxV float64
}

func newPlotLayout(sides []Side) plotLayout {
	l := plotLayout{minV: math.Inf(1), maxV: math.Inf(-1)}
	maxX := 0.0
	for i, s := range sides {
		c := plotCurve{name: s.Name, color: plotColors[i%len(plotColors)]}
		if s.Hist != nil && s.Hist.TotalCount() > 0 {
			rows := hgrmRows(s.Hist, HgrmTicksPerHalfDistance)
			for _, r := range rows {
				if r.Percentile >= 1 {
					break
				}
				c.pts = append(c.pts, plotPoint{math.Log10(1 / (1 - r.Percentile)), plotMicros(r.Value)})
			}
			// The max has no finite percentile: draw it at "1 in count", or
			// just past the last tick when that is further right.
			x := math.Max(c.pts[len(c.pts)-1].x, math.Log10(float64(s.Hist.TotalCount())))
			c.pts = append(c.pts, plotPoint{x, plotMicros(float64(s.Hist.Max()))})
			for _, p := range c.pts {
				l.minV, l.maxV = math.Min(l.minV, p.y), math.Max(l.maxV, p.y)
				maxX = math.Max(maxX, p.x)
			}
		}
		l.curves = append(l.curves, c)
	}
	l.decades = min(max(int(math.Ceil(maxX-1e-9)), minDecades), maxDecades)
	if math.IsInf(l.minV, 0) { // nothing recorded anywhere: an empty 1..10 µs frame
		l.yLo, l.yHi = 0, 1
		return l
	}
	l.yLo = int(math.Floor(math.Log10(l.minV) + 1e-9))
	l.yHi = int(math.Ceil(math.Log10(l.maxV) - 1e-9))
	if l.yHi <= l.yLo {
		l.yHi = l.yLo + 1
	}
	return l
}

// plotMicros converts ns to µs for the log axis, showing a latency under
// the histogram's 1 ns resolution (a coarse clock can record 0) as 1 ns.
func plotMicros(ns float64) float64 { return math.Max(ns, 1) / 1000 }

// px maps a point to image coordinates (y grows downwards).
func (l *plotLayout) px(p plotPoint) (float64, float64) {
	x := float64(plotLeft) + p.x/float64(l.decades)*float64(plotW-plotLeft-plotRight)
	y := float64(plotH-plotBottom) - (math.Log10(p.y)-float64(l.yLo))/float64(l.yHi-l.yLo)*float64(plotH-plotTop-plotBottom)
	return x, y
}

// percentLabel names decade d of the x axis: 0%, 90%, 99%, 99.9%, ...
func percentLabel(d int) string {
	switch d {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", d-2) + "%"
}

// valueLabel names a power of ten of µs without exponent notation.
func valueLabel(e int) string { return strconv.FormatFloat(math.Pow10(e), 'f', -1, 64) }

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// WritePlotSVG draws the sides' latency percentile curves as a self-contained
// SVG document (no external fonts, styles or scripts): log latency (µs)
// against log 1/(1-percentile), one coloured line per side and a legend of
// side names. The output depends only on the input.
func WritePlotSVG(w io.Writer, title string, sides []Side) error {
	l := newPlotLayout(sides)
	bw := bufio.NewWriter(w)
	x0, x1 := float64(plotLeft), float64(plotW-plotRight)
	y0, y1 := float64(plotTop), float64(plotH-plotBottom)

	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", plotW, plotH)
	fmt.Fprintf(bw, `<text x="%d" y="28" text-anchor="middle" font-size="16" font-weight="bold">%s</text>`+"\n", plotW/2, xmlText(title))

	// Grid, ticks and labels: a line and label per x decade, a line and
	// label per power of ten of latency with minor ticks at 2..9 between.
	fmt.Fprintf(bw, `<g stroke="#dddddd" stroke-width="1">`+"\n")
	for d := 0; d <= l.decades; d++ {
		x, _ := l.px(plotPoint{float64(d), 1})
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x, y0, x, y1)
	}
	for e := l.yLo; e <= l.yHi; e++ {
		_, y := l.px(plotPoint{0, math.Pow10(e)})
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x0, y, x1, y)
	}
	fmt.Fprintf(bw, "</g>\n")
	fmt.Fprintf(bw, `<g stroke="#000000" stroke-width="1">`+"\n")
	fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x0, y1, x1, y1)
	fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x0, y0, x0, y1)
	for d := 0; d <= l.decades; d++ {
		x, _ := l.px(plotPoint{float64(d), 1})
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x, y1, x, y1+6)
	}
	for e := l.yLo; e <= l.yHi; e++ {
		for m := 1; m <= 9 && (m == 1 || e < l.yHi); m++ {
			_, y := l.px(plotPoint{0, float64(m) * math.Pow10(e)})
			size := 3.0
			if m == 1 {
				size = 6
			}
			fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x0-size, y, x0, y)
		}
	}
	fmt.Fprintf(bw, "</g>\n")
	for d := 0; d <= l.decades; d++ {
		x, _ := l.px(plotPoint{float64(d), 1})
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y1+20, percentLabel(d))
	}
	for e := l.yLo; e <= l.yHi; e++ {
		_, y := l.px(plotPoint{0, math.Pow10(e)})
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", x0-9, y, valueLabel(e))
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle" font-size="14">Percentile</text>`+"\n", (x0+x1)/2, plotH-20)
	fmt.Fprintf(bw, `<text x="22" y="%.1f" text-anchor="middle" font-size="14" transform="rotate(-90 22 %.1f)">Latency (µs)</text>`+"\n", (y0+y1)/2, (y0+y1)/2)

	// Curves, then the legend over them in the top-left corner.
	for _, c := range l.curves {
		if len(c.pts) == 0 {
			continue
		}
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" points="`, hexColor(c.color))
		for i, p := range c.pts {
			x, y := l.px(p)
			if i > 0 {
				bw.WriteByte(' ')
			}
			fmt.Fprintf(bw, "%.1f,%.1f", x, y)
		}
		fmt.Fprintf(bw, `"><title>%s</title></polyline>`+"\n", xmlText(c.name))
	}
	if len(l.curves) > 0 {
		fmt.Fprintf(bw, `<rect x="%.1f" y="%.1f" width="180" height="%d" fill="#ffffff" fill-opacity="0.85" stroke="#999999"/>`+"\n", x0+10, y0+10, 10+20*len(l.curves))
		for i, c := range l.curves {
			y := y0 + 25 + float64(20*i)
			fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", x0+18, y, x0+42, y, hexColor(c.color))
			name := xmlText(c.name)
			if len(c.pts) == 0 {
				name += " (no data)"
			}
			fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`+"\n", x0+50, y, name)
		}
	}
	fmt.Fprintf(bw, "</svg>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("bench: plot svg: %w", err)
	}
	return nil
}

// WritePlotPNG draws the same plot as WritePlotSVG as a PNG, with the
// standard library only (no font files): grid, axes, tick marks, curves, and
// the title, tick labels, axis labels and legend in a small built-in 3×5
// pixel font, upper case. The output depends only on the input.
func WritePlotPNG(w io.Writer, title string, sides []Side) error {
	l := newPlotLayout(sides)
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	white := color.RGBA{0xff, 0xff, 0xff, 0xff}
	grid := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	black := color.RGBA{0, 0, 0, 0xff}
	fillRect(img, 0, 0, plotW, plotH, white)
	x0, x1 := plotLeft, plotW-plotRight
	y0, y1 := plotTop, plotH-plotBottom

	for d := 0; d <= l.decades; d++ {
		x, _ := l.px(plotPoint{float64(d), 1})
		xi := int(math.Round(x))
		drawLine(img, xi, y0, xi, y1, 1, grid)
		drawLine(img, xi, y1, xi, y1+6, 1, black)
		drawText(img, xi, y1+12, percentLabel(d), 2, true, black)
	}
	for e := l.yLo; e <= l.yHi; e++ {
		_, y := l.px(plotPoint{0, math.Pow10(e)})
		yi := int(math.Round(y))
		drawLine(img, x0, yi, x1, yi, 1, grid)
		label := valueLabel(e)
		drawText(img, x0-10-textWidth(label, 2), yi-5, label, 2, false, black)
		for m := 1; m <= 9 && (m == 1 || e < l.yHi); m++ {
			_, y := l.px(plotPoint{0, float64(m) * math.Pow10(e)})
			size := 3
			if m == 1 {
				size = 6
			}
			drawLine(img, x0-size, int(math.Round(y)), x0, int(math.Round(y)), 1, black)
		}
	}
	drawLine(img, x0, y1, x1, y1, 1, black)
	drawLine(img, x0, y0, x0, y1, 1, black)

	for _, c := range l.curves {
		for i := 1; i < len(c.pts); i++ {
			ax, ay := l.px(c.pts[i-1])
			bx, by := l.px(c.pts[i])
			drawLine(img, int(math.Round(ax)), int(math.Round(ay)), int(math.Round(bx)), int(math.Round(by)), 2, c.color)
		}
	}
	drawText(img, plotW/2, 18, title, 3, true, black)
	drawText(img, (x0+x1)/2, plotH-28, "Percentile", 2, true, black)
	drawTextUp(img, 16, (y0+y1)/2, "Latency (µs)", 2, black)
	if len(l.curves) > 0 {
		xa, ya, xb, yb := x0+10, y0+10, x0+190, y0+20+18*len(l.curves)
		fillRect(img, xa, ya, xb, yb, white)
		border := color.RGBA{0x99, 0x99, 0x99, 0xff}
		drawLine(img, xa, ya, xb, ya, 1, border)
		drawLine(img, xa, yb, xb, yb, 1, border)
		drawLine(img, xa, ya, xa, yb, 1, border)
		drawLine(img, xb, ya, xb, yb, 1, border)
	}
	for i, c := range l.curves {
		fillRect(img, x0+18, y0+15+18*i, x0+42, y0+25+18*i, c.color)
		name := c.name
		if len(c.pts) == 0 {
			name += " (no data)"
		}
		drawText(img, x0+50, y0+15+18*i, name, 2, false, black)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("bench: plot png: %w", err)
	}
	return nil
}

func fillRect(img *image.RGBA, xa, ya, xb, yb int, c color.RGBA) {
	for y := ya; y < yb; y++ {
		for x := xa; x < xb; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// drawLine draws a width×width pen along Bresenham's line from a to b.
func drawLine(img *image.RGBA, ax, ay, bx, by, width int, c color.RGBA) {
	dx, dy := plotAbs(bx-ax), -plotAbs(by-ay)
	sx, sy := 1, 1
	if ax > bx {
		sx = -1
	}
	if ay > by {
		sy = -1
	}
	e := dx + dy
	for {
		fillRect(img, ax, ay, ax+width, ay+width, c)
		if ax == bx && ay == by {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			ax += sx
		} else {
			e += dx
			ay += sy
		}
	}
}

func plotAbs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// pngGlyphs is a 3×5 pixel font for the PNG's text: digits, capitals (lower
// case is drawn as upper case), µ and a little punctuation. Each row is three
// bits, most significant on the left; runes without a glyph draw as space.
var pngGlyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
	'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1},
	'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7},
	'A': {2, 5, 7, 5, 5}, 'B': {6, 5, 6, 5, 6}, 'C': {3, 4, 4, 4, 3}, 'D': {6, 5, 5, 5, 6},
	'E': {7, 4, 6, 4, 7}, 'F': {7, 4, 6, 4, 4}, 'G': {3, 4, 5, 5, 3}, 'H': {5, 5, 7, 5, 5},
	'I': {7, 2, 2, 2, 7}, 'J': {1, 1, 1, 5, 2}, 'K': {5, 5, 6, 5, 5}, 'L': {4, 4, 4, 4, 7},
	'M': {5, 7, 7, 5, 5}, 'N': {6, 5, 5, 5, 5}, 'O': {2, 5, 5, 5, 2}, 'P': {6, 5, 6, 4, 4},
	'Q': {2, 5, 5, 6, 3}, 'R': {6, 5, 6, 5, 5}, 'S': {3, 4, 2, 1, 6}, 'T': {7, 2, 2, 2, 2},
	'U': {5, 5, 5, 5, 7}, 'V': {5, 5, 5, 5, 2}, 'W': {5, 5, 7, 7, 5}, 'X': {5, 5, 2, 5, 5},
	'Y': {5, 5, 2, 2, 2}, 'Z': {7, 1, 2, 4, 7}, 'µ': {0, 5, 5, 6, 4},
	'.': {0, 0, 0, 0, 2}, '%': {5, 1, 2, 4, 5}, '/': {1, 1, 2, 4, 4}, '(': {1, 2, 2, 2, 1},
	')': {4, 2, 2, 2, 4}, '-': {0, 0, 7, 0, 0}, '_': {0, 0, 0, 0, 7}, ':': {0, 2, 0, 2, 0},
	',': {0, 0, 0, 2, 4}, '<': {1, 2, 4, 2, 1}, '>': {4, 2, 1, 2, 4}, '&': {2, 5, 2, 5, 3},
}

func textWidth(s string, scale int) int { return utf8.RuneCountInString(s) * 4 * scale }

// drawText draws s with its top at y, starting at x or centred on it.
func drawText(img *image.RGBA, x, y int, s string, scale int, centre bool, c color.RGBA) {
	if centre {
		x -= textWidth(s, scale) / 2
	}
	for _, r := range s {
		g := pngGlyphs[unicode.ToUpper(r)]
		if r == 'µ' {
			g = pngGlyphs[r] // ToUpper would make it Greek capital mu
		}
		for row := 0; row < 5; row++ {
			for col := 0; col < 3; col++ {
				if g[row]&(4>>col) != 0 {
					fillRect(img, x+col*scale, y+row*scale, x+(col+1)*scale, y+(row+1)*scale, c)
				}
			}
		}
		x += 4 * scale
	}
}

// drawTextUp draws s reading upwards, centred on (x, y), tops of the pngGlyphs
// to the left: the y axis label.
func drawTextUp(img *image.RGBA, x, y int, s string, scale int, c color.RGBA) {
	y += textWidth(s, scale) / 2
	for _, r := range s {
		g := pngGlyphs[unicode.ToUpper(r)]
		if r == 'µ' {
			g = pngGlyphs[r]
		}
		for row := 0; row < 5; row++ {
			for col := 0; col < 3; col++ {
				if g[row]&(4>>col) != 0 {
					fillRect(img, x+row*scale, y-(col+1)*scale, x+(row+1)*scale, y-col*scale, c)
				}
			}
		}
		y -= 4 * scale
	}
}
