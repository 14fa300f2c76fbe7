// Package replay records what tickd's feed sources read into capture files,
// and plays them back.
//
// A capture holds the raw bytes exactly as they were read (an ITCH
// session's: each message as it was unpacked), each with its receive time
// (ns since the Unix epoch) and its source, so a replay feeds the decoders
// the same bytes in the same order and, because event time drives every
// window, yields the same signals as live.
//
// # File layout
//
// All integers are little endian. A capture is a file header followed by
// blocks; it is only ever appended to.
//
//	+-------------+---------+---------+---------+---------+-----+---------+
//	| file header | block 0 | block 1 | block 2 |   ...   |     | block N |
//	|  40 bytes   |         |         |         |         |     |         |
//	+-------------+---------+---------+---------+---------+-----+---------+
//
//	file header (40 bytes)
//	+------------+---------+----------+------------+----------------+--------+
//	| "TICKDCAP" | version | reserved | start (ns) | format, NUL    | crc32c |
//	|  8 bytes   | u16     | u16      | i64        | padded 16 bytes| u32    |
//	+------------+---------+----------+------------+----------------+--------+
//	  crc32c (Castagnoli) covers bytes 0..35.
//
//	block = 48-byte header + payload
//	 0        4        8        12       16       20       24       28             36             44       48
//	+--------+--------+--------+--------+--------+--------+--------+--------------+--------------+--------+------------+
//	| sync   | hcrc   | crc    | plen   | rlen   | count  | flags  | minRecv i64  | maxRecv i64  | resvd  | payload    |
//	| F1'TKB'| u32    | u32    | u32    | u32    | u32    | u32    | (min Recv)   | (max Recv)   | u32=0  | plen bytes |
//	+--------+--------+--------+--------+--------+--------+--------+--------------+--------------+--------+------------+
//	  crc  = CRC32C(header bytes 12..47 ++ payload): the header fields and the payload
//	  hcrc = CRC32C(header bytes 8..47): lets a reader trust a header (and its
//	         lengths) without reading the payload, and find the next block
//	         after a corrupt one by scanning for sync and checking hcrc
//	  plen = stored payload bytes, rlen = raw record bytes (equal unless zstd)
//	  count = records in the block
//	  flags: 1 zstd (payload is one zstd frame of the records; a compressing
//	         writer stores a block raw when zstd would not shrink it), 2 the block
//	         holds Open/Close records, 4 minRecv/maxRecv are valid: the
//	         least and greatest Recv of the block's Data and Close records
//	         (without flag 4, no record has a Recv and they say nothing).
//	         A block with any other bit, its header intact, is of a
//	         feature this version lacks: skipped whole and reported
//	         (ErrCorrupt), never cut off as a torn tail.
//
//	records, back to back in the raw payload (uvarint, and zigzag varint,
//	as encoding/binary writes them):
//	+------+------------+--------------------------------------------------+
//	| kind | source u16 | Open : uvarint name length, name                 |
//	| u8   |            | Data : varint Recv delta, uvarint length, bytes  |
//	|      |            | Close: varint Recv delta                         |
//	+------+------------+--------------------------------------------------+
//	  Kinds: 1 Open, 2 Data, 3 Close; any other is a malformed record (the
//	  rest of the block is skipped). source is little endian like the rest.
//	  The Recv delta is from the Recv of the previous Data or Close record in
//	  the same block (0 before the first): an Open record has no Recv and
//	  does not move it. So every block decodes on its own.
//	  A Data record's bytes are, by the header's format: native, csv, json,
//	  what one read of the source returned (a frame or line may be cut
//	  across records, as across reads); itch, one whole ITCH message, bare
//	  (no SoupBinTCP, MoldUDP64 or file framing, no length prefix).
//
// A Writer batches records into blocks of about WriterOptions.BlockSize raw
// bytes and writes each with one write call, fsyncing per its SyncPolicy;
// with WriterOptions.Direct it gathers blocks into 8 MiB and writes them
// with O_DIRECT, past the page cache, and Flush puts the unaligned rest
// through the cache (the file is the same, byte for byte).
// Finish writes the sidecar index PATH.idx (block offsets, lengths, flags
// and min/max Recv; layout in index.go) so a reader seeks to a time without
// scanning the file.
//
// # Crash safety
//
// OpenCapture uses the sidecar index when it matches the file (same header
// CRC and length), else rebuilds it by reading only the block headers. A
// crash mid-write leaves a torn tail: a short header, a block running past
// the end of the file, or a last block failing its CRC. It is reported as a
// Damage with its offset and cut off, unless ReadOnly. A corrupt region in
// the middle (bad header) is skipped to the next valid header; a block whose
// payload fails its CRC is skipped when read. Both are reported; nothing
// before or after them is lost.
//
// Without OpenOptions.Verify only the last block's payload is checked at
// open; corrupt middle blocks are then reported by Reader.Damages as Next or
// SeekTime meet them.
//
// # Recorder
//
// The Recorder is the lossless asynchronous writer behind the feed tap: each
// feed goroutine copies what it reads into its own lane, a single-producer,
// single-consumer queue of chunks (a copy and a release store per record:
// no lock, no allocation; it waits only while the writer is a whole buffer
// behind), and one writer goroutine, the lanes' consumer, drains them into capture files
// named tickd-YYYYMMDDTHHMMSS.NNNNNNNNN.cap (UTC, so they sort in time
// order), rotated by size or age. Each file gets its sidecar index when it
// is finished, and starts by re-announcing (Open records) the sources open
// at rotation, so every file replays on its own. A Recorder holds its
// directory (a lock file, .tickd-record.lock), so one directory holds one
// capture, and on start finishes the captures a crashed recorder left there
// without their index (Recorder.Recovered).
//
// # Player
//
// A Player plays captures, NASDAQ ITCH 5.0 files and native, CSV or JSON
// tick files (plain or gzip) into sinks (feed.Sink: an engine Input per
// recorded source). Each capture source gets its own decoder, as the live
// connection had, so the engine sees the events the live session saw. The
// files of a rotated capture, played in order, are one session: a source
// re-announced at the start of the next file goes on there with its Sink
// and decoder state. It paces by the recorded receive times (files: by
// event time) at any speed or at max, reading the clock only past a 2 ms
// horizon and sleeping only when more than 2 ms ahead, so pacing costs
// nothing per message. From/To and Only filter decoded events; Pause,
// Resume and Step may be called from any goroutine (tickd replay drives
// them from a NATS control subject).
package replay
