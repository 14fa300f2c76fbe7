package bench

// The tests' reader of the .hgrm files WriteHgrm writes (and HdrHistogram's
// own PercentilesPrint), to check the two agree; tickd itself never reads one.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// HgrmSummary is the footer of a percentile distribution, in the output unit.
type HgrmSummary struct {
	Mean       float64
	StdDev     float64
	Max        float64
	TotalCount int64
	Buckets    int64
	SubBuckets int64
}

// ParseHgrm reads a percentile distribution in the .hgrm layout WriteHgrm
// writes (and HdrHistogram's other implementations print: the last row may
// carry "inf" or nothing in its 1/(1-p) column). Values stay in the file's
// unit.
func ParseHgrm(r io.Reader) ([]HgrmRow, HgrmSummary, error) {
	var (
		rows    []HgrmRow
		sum     HgrmSummary
		footers int
	)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "":
			continue
		case strings.HasPrefix(text, "#["):
			if err := parseHgrmFooter(text, &sum); err != nil {
				return nil, HgrmSummary{}, fmt.Errorf("bench: hgrm line %d: %w", line, err)
			}
			footers++
			continue
		case strings.HasPrefix(text, "Value"):
			continue // header
		}
		f := strings.Fields(text)
		if len(f) < 3 || len(f) > 4 {
			return nil, HgrmSummary{}, fmt.Errorf("bench: hgrm line %d: want 3 or 4 columns, got %d", line, len(f))
		}
		v, err1 := strconv.ParseFloat(f[0], 64)
		p, err2 := strconv.ParseFloat(f[1], 64)
		c, err3 := strconv.ParseInt(f[2], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, HgrmSummary{}, fmt.Errorf("bench: hgrm line %d: %w", line, err)
		}
		if p < 0 || p > 1 {
			return nil, HgrmSummary{}, fmt.Errorf("bench: hgrm line %d: percentile %v outside 0..1", line, p)
		}
		rows = append(rows, HgrmRow{Value: v, Percentile: p, Count: c})
	}
	if err := sc.Err(); err != nil {
		return nil, HgrmSummary{}, fmt.Errorf("bench: hgrm: %w", err)
	}
	if footers != 3 {
		return nil, HgrmSummary{}, fmt.Errorf("bench: hgrm: want 3 footer lines, got %d", footers)
	}
	return rows, sum, nil
}

// parseHgrmFooter reads one "#[Key = v, Key = v]" line into sum.
func parseHgrmFooter(text string, sum *HgrmSummary) error {
	body := strings.TrimSuffix(strings.TrimPrefix(text, "#["), "]")
	for _, kv := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("footer field %q has no '='", strings.TrimSpace(kv))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var err error
		switch k {
		case "Mean":
			sum.Mean, err = strconv.ParseFloat(v, 64)
		case "StdDeviation":
			sum.StdDev, err = strconv.ParseFloat(v, 64)
		case "Max":
			sum.Max, err = strconv.ParseFloat(v, 64)
		case "Total count":
			sum.TotalCount, err = strconv.ParseInt(v, 10, 64)
		case "Buckets":
			sum.Buckets, err = strconv.ParseInt(v, 10, 64)
		case "SubBuckets":
			sum.SubBuckets, err = strconv.ParseInt(v, 10, 64)
		default:
			return fmt.Errorf("unknown footer field %q", k)
		}
		if err != nil {
			return fmt.Errorf("footer field %s: %w", k, err)
		}
	}
	return nil
}
