// Package jsexample lets Go tests use the Node.js project in
// examples/js-subscriber: install its pinned npm dependencies, run its
// subscriber, and check tickd messages against
// schema/tickd-messages.schema.json with its validator (Ajv, draft
// 2020-12).
//
// Node and npm must be on PATH; when they are not, Setup fails the test and
// names NodeScript, which installs them. Dependencies are installed with
// `npm ci` the first time and again only when package-lock.json changes
// (a stamp in node_modules records the lock file's hash), under a file
// lock, so test packages running at the same time install once.
package jsexample
