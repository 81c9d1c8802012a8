// SPDX-License-Identifier: MIT
//
// lib.js: what the browser tests share: Debian's Chromium through
// playwright-core (nothing downloaded), and `check`, which prints
// "ok - NAME" or throws with what was found.
'use strict';

const { chromium } = require('playwright-core');

function check(name, cond, detail) {
  if (!cond) {
    throw new Error('check failed: ' + name + (detail !== undefined ? ' (' + detail + ')' : ''));
  }
  console.log('ok - ' + name + (detail !== undefined ? ' (' + detail + ')' : ''));
}

function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

module.exports = { check, launch };
