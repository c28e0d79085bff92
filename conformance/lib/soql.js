'use strict';
// soql-parser-js 6.3.1 as an oracle. Known parser gaps: it accepts impossible
// datetimes and unknown backslash escapes, and rejects OFFSET without LIMIT/ORDER BY before it.
const { parseQuery } = require('@jetstreamapp/soql-parser-js');

// validate returns null when the statement parses, else the parser's message.
function validate(soql) {
  try {
    parseQuery(soql);
    return null;
  } catch (e) {
    return String(e && e.message ? e.message : e).split('\n')[0];
  }
}

module.exports = { validate };
