package sfemu

// What the emulator implements. Sources are cited where each behaviour is implemented; the
// Salesforce guides named here are the REST API Developer Guide
// (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/), the SOAP API Developer
// Guide, the Bulk API 2.0 Developer Guide and the OAuth pages of Salesforce Help.
//
//   - OAuth: /services/oauth2/token (form-encoded only) for authorization_code (+PKCE S256),
//     refresh_token (optional rotation; reuse revokes the chain; concurrent refresh of one token
//     refused), password, client_credentials and JWT bearer (RS256, iss/sub/aud/exp);
//     /authorize HTML login + consent (code + state, access_denied); /revoke; /userinfo; /id/.
//   - Sessions: TTL on the emulator clock, ExpireSessions, 401 INVALID_SESSION_ID, and the
//     "not valid for use with the REST API" variant for tokens without the api scope.
//   - REST: /services/data/ (versions, unauthenticated, uncounted), /vXX.X/, /limits,
//     /limits/recordCount, /sobjects, /sobjects/{O}, /describe, rows by id and by external id
//     (GET, PATCH upsert with version-dependent status, DELETE), If-Modified-Since, /updated and
//     /deleted, /query and /queryAll with paging (parent-to-child subqueries included), and sObject Collections (create, update,
//     upsert, delete, retrieve).
//   - Composite (composite.go): POST /vXX.X/composite (v38+) with compositeRequest subrequests
//     (method, url, referenceId, body, httpHeaders), served by the same handlers as top-level
//     requests (sObject rows by id and by external id, create, query/queryAll, sObject
//     Collections); allOrNone (rollback, 400 PROCESSING_HALTED for every other subrequest,
//     overriding a Collections subrequest's own allOrNone); without allOrNone, subrequests
//     that reference a failed one are not run; @{ref.path} references with . and [] in url and
//     body; limits of 25 subrequests and 5 query/Collections subrequests; top-level 400 for a
//     malformed request; the whole request is one API call; collateSubrequests is accepted and
//     subrequests always run in the order given (one of the orders collation allows).
//   - Conditional writes: If-Unmodified-Since on sObject Rows PATCH and on upsert by external
//     id (PATCH/POST), top-level and in Composite httpHeaders: compares LastModifiedDate (not
//     SystemModstamp) at one-second resolution, 412 PRECONDITION_FAILED when the record was
//     modified strictly after the date, 400 for a value that is not an HTTP date, ignored on
//     DELETE and when an upsert matches nothing. Because both sides have whole seconds, an edit
//     in the same second as the date a client sends is not detected.
//   - Upsert: ?updateOnly=true from v61.0 (404 NOT_FOUND instead of a create; ignored before
//     v61.0); records in the recycle bin never match an external id, so an upsert beside a
//     deleted record creates a new one. An update by Id of a deleted or merged-away record
//     answers 404 ENTITY_IS_DELETED (sObject Rows, Composite) or statusCode ENTITY_IS_DELETED
//     (sObject Collections); an id that never existed answers 404 NOT_FOUND or
//     INVALID_CROSS_REFERENCE_KEY.
//   - Merge (Go API and admin): losers are soft-deleted with MasterRecordId = the winner (shown
//     by queryAll and /deleted), the winner's LastModifiedDate and SystemModstamp move, and the
//     losers' children are re-parented to the winner.
//   - Limits: Sforce-Limit-Info on every data response, one call per request (each query page,
//     each collection, each Composite request), 403 REQUEST_LIMIT_EXCEEDED once exhausted.
//   - Control: Go API (Insert, Update, Delete, HardDelete, EmptyRecycleBin, Merge,
//     TouchSystemModstamp, SetSystemFields, Get, All, Count, SeedContacts, MintSession,
//     MintSessionScope, ExpireSessions, RevokeRefreshToken, ExpireQueryLocators, SetClock,
//     Advance, Freeze, Now, APIUsage, SetDailyLimit, ResetAPIUsage, SetLatency, SetMaxPageSize,
//     SetCommitDelay, SetRecordLocked, SetPicklist, Fail, ClearFaults, Requests, ResetRequests, Save, Load,
//     Close) and the same over HTTP under /__sfemu/ (see handleAdmin).
//   - Hooks (hooks.go): Before, After, AddHook (Nth/Times), MatchRequest, ClearHooks run a test's
//     action synchronously before a request is handled, or after it was handled and before the
//     client sees the response; over HTTP as /__sfemu/hooks with update, delete, merge and
//     advance actions.
//   - Bulk API 2.0 (bulk.go): query jobs with CSV result sets paged by Sforce-Locator and
//     maxRecords, ingest jobs with successfulResults/failedResults/unprocessedrecords, states
//     moving in the background (SetBulkConfig: processing delay, batch size, lock and
//     job-failure faults).
//
// Where the documentation is silent, the emulator picks the most plausible behaviour and says
// so where it is implemented: the errorCode of a malformed Composite request (INVALID_API_INPUT),
// the bodies of the 412 (PRECONDITION_FAILED) and of the 400 for an invalid If-Unmodified-Since
// (INVALID_HEADER_TYPE), the answer of updateOnly when nothing matches (404 NOT_FOUND), that
// upsert ignores records in the recycle bin, and treating a 300 subrequest as a failure for
// allOrNone.
//
// Knowingly not implemented: isolation of a Composite request from concurrent requests (other
// clients can see a subrequest's write before an allOrNone rollback undoes it); hooks on
// Composite subrequests (hooks see top-level requests); ETag, If-Match and If-None-Match (the
// guide supports them for Account records only); conditional headers on sObject Collections;
// updateOnly on sObject Collections upsert; composite batch/graph/tree; Bulk API 1.0; SOAP
// login; search; per-app usage in Sforce-Limit-Info; the concurrent long-running request limit;
// a rolling 24 h window for API usage (it is a counter; ResetAPIUsage resets it); the 15-day
// recycle-bin purge; field-level security, sharing, validation rules beyond required/type/
// length/email/restricted picklist/unique; and objects other than Account, Contact and User.
