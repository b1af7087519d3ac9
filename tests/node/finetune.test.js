// Fine-tuning end to end through the real clients: npm `openai` (the
// AzureOpenAI client on the dated API, the plain OpenAI client on v1) for
// files, jobs, events, checkpoints, models and chat completions, and
// @azure/arm-cognitiveservices for accounts and deployments
// (reference/azure-openai-api.md §1.3-1.8, §3.3).
//
// The walk: training and validation files of a help desk's chat examples →
// a job on the built-in trainer (atrest-ngram-1) → success → its events,
// checkpoints and results file → the fine-tuned model → an ARM deployment →
// chat completions that give the trained replies (plain and streamed) → a
// customer-managed key on the account → revocation (loaded deployments keep
// serving; downloads, new jobs and new deployments are refused) → restored
// → the deployment, the model, the jobs and the files deleted.
// Then: the v1 client path (and isolation between accounts, seeded runs),
// the refusals of bad job requests, the external trainer
// (docs/trainer-protocol.md) end to end and failing, the account setting
// `unloadDeploymentsOnKeyRevocation`, and, on a server whose external
// trainer is slow and which runs one job at a time: cancelling, queued jobs
// whose key is revoked or whose file is deleted before they start, a running
// job whose key is revoked, and restarts (SIGTERM, SIGKILL, with the key
// revoked) during a job.
import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import OpenAI, {AzureOpenAI, toFile} from 'openai';

import {Arm, poll, sleep} from './support/arm.js';
import {atrestBin, startServer} from './support/atrest.js';

const API_VERSION = '2024-10-21';
const BASE = 'atrest-ngram-1';
const EXTERNAL = 'external-trainer-1';
const TRAINER = process.env.ATREST_EXAMPLE_TRAINER ??
    path.resolve(path.dirname(atrestBin), '../../examples/' +
                 'atrest-example-trainer');
const FILE_ID = /^file-[0-9a-f]{32}$/;
const JOB_ID = /^ftjob-[0-9a-f]{32}$/;
const EVENT_ID = /^ftevent-[0-9a-f]{32}$/;
const CHECKPOINT_ID = /^ftchkpt-[0-9a-f]{32}$/;
const CMKI = 'CustomerManagedKeyInaccessible';
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const RESULTS_HEADER =
    'step,train_loss,train_mean_token_accuracy,valid_loss,' +
    'validation_mean_token_accuracy,full_valid_loss,' +
    'full_valid_mean_token_accuracy';

// ---- the training data ----

// A help desk's chat examples: one system message, a distinct question and
// a distinct reply of two or three sentences each.
const SYSTEM = 'You are the Northwind Traders IT help desk assistant. ' +
    'Answer in two or three sentences.';

const FAQ = [
  ['How do I reset my email password?',
   'Open the self-service portal at passwords.northwind.example and choose ' +
   'Forgot password. A six digit code arrives by text message and stays ' +
   'valid for ten minutes.'],
  ['My laptop will not connect to the office Wi-Fi.',
   'Forget the network called NW-Staff and join it again with your ' +
   'directory login. If that fails, restart while plugged in so the ' +
   'device certificate can renew.'],
  ['How can I set up the VPN on my home computer?',
   'Install the Northwind Connect client from the software center and sign ' +
   'in with your badge number. Home computers that are not company owned ' +
   'may only use the web gateway.'],
  ['The printer on the third floor says paper jam but I see no paper.',
   'Open the rear door of printer P3-East and lift the green fuser lever. ' +
   'Small scraps often hide behind it; if the error stays, call facilities ' +
   'on extension 4410.'],
  ['Can I get a second monitor for my desk?',
   'Yes, every desk may have two monitors. Order the 27 inch model in the ' +
   'hardware catalog and it is delivered within five working days.'],
  ['How do I install Python on my work laptop?',
   'Python 3.12 is in the software center under Developer Tools. Click ' +
   'Install and it will be ready after a sign out and sign in.'],
  ['The shared drive letter S is missing on my computer.',
   'Run the Map Drives shortcut on your desktop while connected to the VPN ' +
   'or the office network. The drive comes back at the next login as well.'],
  ['I think I received a phishing email. What do I do?',
   'Do not click any link in it and use the Report Phish button in the ' +
   'mail toolbar. The security team reviews every report within one hour.'],
  ['My calendar invites do not show up on my phone.',
   'Remove the work account from the phone and add it again through the ' +
   'Company Portal app. Calendar sync needs the portal to mark the phone as ' +
   'compliant.'],
  ['How do I turn on two-factor authentication?',
   'Visit mysignins.northwind.example and add the Authenticator app as a ' +
   'method. From then on every new device asks for a push approval.'],
  ['My laptop battery looks swollen and the case is bending.',
   'Stop using the laptop now and unplug it. Bring it to the service desk ' +
   'in building A, where we swap it the same day because swollen batteries ' +
   'can catch fire.'],
  ['How do I book a meeting room with video conferencing?',
   'Rooms with a camera have VC in their names in the room finder. Add the ' +
   'room to your invite and the system joins the call automatically.'],
  ['I deleted a file from the team drive by accident.',
   'Deleted files stay in the recycle bin of the team drive for ninety ' +
   'days. Open the bin, select the file and choose Restore.'],
  ['The chat app keeps asking me to sign in again.',
   'Clear the chat app cache from its settings page and sign in once more. ' +
   'If it still loops, your password may have expired and needs a reset ' +
   'first.'],
  ['When will the account for our new hire be ready?',
   'Accounts are created three working days before the start date once HR ' +
   'confirms the contract. The manager receives the first login details by ' +
   'email.'],
  ['An employee is leaving. How is equipment returned?',
   'Book a return slot in the offboarding form and bring the laptop, badge ' +
   'and phone. A courier box can be sent if the person works remotely.'],
  ['I get an error when I log in to the expense system.',
   'The expense system only accepts logins through the company portal ' +
   'tile. Bookmarks to the old address fail with error 403.'],
  ['My mailbox is full. Can it be made bigger?',
   'Mailboxes hold 50 GB and cannot grow further. Turn on the online ' +
   'archive in mail settings to move older messages out automatically.'],
  ['How do I set an out of office reply?',
   'In the mail client open Settings, then Automatic replies. Set the dates ' +
   'and write separate messages for colleagues and external senders.'],
  ['People cannot hear me through my headset in calls.',
   'Check that the headset is the selected microphone in the call settings ' +
   'and that its mute switch is off. The Test call button plays back what ' +
   'others hear.'],
  ['A visitor needs Wi-Fi for the day.',
   'Reception prints a guest voucher for the NW-Guest network that works ' +
   'for twenty four hours. Guest devices reach the internet only.'],
  ['I lost my building badge.',
   'Report the lost badge at security.northwind.example so it is blocked ' +
   'at once. Pick up a replacement at reception with photo ID the next ' +
   'morning.'],
  ['How do I encrypt a USB stick?',
   'Right click the drive and choose Turn on BitLocker. Company policy ' +
   'blocks writing to USB sticks that are not encrypted.'],
  ['My laptop is very slow since the last update.',
   'Leave it on and connected for an hour so the update can finish its ' +
   'background tasks, then restart. If it stays slow, open a ticket with ' +
   'the output of the Health Check tool.'],
  ['My computer crashed with a blue screen.',
   'Write down the stop code shown on the screen and restart. Send the code ' +
   'in a ticket so we can match it against known driver problems.'],
  ['How do I get access to the finance reports?',
   'Request the Finance Readers group in the access portal. Your manager ' +
   'and the finance controller both approve before access is granted.'],
  ['I changed my last name. Can my email address change too?',
   'Yes, send a name change request with the HR reference number. The old ' +
   'address keeps receiving mail for one year.'],
  ['How do I forward my desk phone to my mobile?',
   'Press the Forward key on the desk phone, enter your mobile number with ' +
   'the country code and press Enable. Forwarding also works from the ' +
   'phone portal.'],
  ['Can I install a browser extension?',
   'Only extensions on the approved list install on company browsers. Ask ' +
   'for a review through the software request form if yours is missing.'],
  ['Should I choose a Mac or a Windows laptop?',
   'Both are supported. Engineers and designers usually pick the Mac, while ' +
   'finance tools run best on Windows.'],
  ['How often are our files backed up?',
   'Team drives are backed up every four hours and kept for thirty days. ' +
   'Files on the laptop disk alone are not backed up.'],
  ['I need a license for the design tool.',
   'Design tool licenses come from a shared pool of forty seats. Request one ' +
   'in the software center and it is assigned within a day.'],
  ['Why do I keep getting password expiry reminders?',
   'Passwords expire every ninety days and reminders start two weeks ' +
   'before. Changing it early through the portal stops the reminders.'],
  ['How do I scan a document to my email on the copier?',
   'Tap your badge on the copier, choose Scan to Me and press Start. The ' +
   'PDF arrives in your inbox within a minute.'],
  ['How do I connect my laptop to the boardroom projector?',
   'Plug in the USB-C cable on the table or press the Share button in the ' +
   'wireless display app. The projector switches to your screen ' +
   'automatically.'],
  ['I spilled coffee on my keyboard.',
   'Turn the laptop off, unplug it and keep it upside down. Bring it to the ' +
   'service desk today and do not try to dry it with a hair dryer.'],
  ['Can I get local administrator rights on my laptop?',
   'Administrator rights are granted for eight hours at a time through the ' +
   'elevation app. Permanent rights need approval from the security team.'],
  ['How do I create an email distribution list?',
   'Use the Groups page of the mail portal and choose New distribution ' +
   'list. You become its owner and can add members right away.'],
  ['I need to edit a page on the intranet.',
   'Each intranet section has owners listed at the bottom of the page. Ask ' +
   'one of them to add you as an editor of that section.'],
  ['How can I reach my office computer from home?',
   'Connect to the VPN first and then open Remote Desktop with your office ' +
   'computer name. The computer must stay switched on at the office.'],
  ['Do I get a company phone?',
   'Company phones go to people who are on call or travel every month. ' +
   'Everyone else can claim a monthly stipend for their own phone.'],
  ['The clock on my laptop shows the wrong time zone.',
   'Open date and time settings and turn on Set time zone automatically. ' +
   'Location services must be allowed for this to work.'],
  ['Mail search does not find messages I know exist.',
   'The search index may be rebuilding after an update. Leave the mail ' +
   'client open for an hour, or use the web mail search in the meantime.'],
  ['How can I send a very large file to a client?',
   'Upload it to the secure transfer site and share the generated link. ' +
   'Links expire after fourteen days and downloads are logged.'],
  ['Who do I call about IT problems after hours?',
   'Call the on-call line at extension 9000 for outages that stop your ' +
   'work. Everything else can wait for a ticket the next morning.'],
  ['How do I check the status of my ticket?',
   'Open the help desk portal and choose My tickets. Every update is also ' +
   'sent to you by email with the ticket number in the subject.'],
  ['The Wi-Fi is very weak in the north meeting corner.',
   'Report the spot with the Wi-Fi survey form and include the room number. ' +
   'The network team places extra access points after each monthly survey.'],
  ['I ran out of cloud storage space.',
   'Personal cloud storage is one terabyte and can be raised to five ' +
   'terabytes for project work. Ask your manager to approve the increase ' +
   'in the access portal.'],
  ['My webcam image is blurry in meetings.',
   'Wipe the lens and check that the camera app does not use background ' +
   'blur. Low light also makes the image soft, so face a window or lamp.'],
  ['My browser shows a certificate warning on an internal site.',
   'Do not continue past the warning. Restart the laptop on the office ' +
   'network so it receives the current company root certificate, and ' +
   'report the site if the warning stays.'],
];

// Paraphrased questions for the validation file, each with the reply of
// the training example it paraphrases.
const PARAPHRASES = [
  [0, 'I forgot my email password. How do I reset it?'],
  [1, 'Office Wi-Fi does not work on my laptop.'],
  [2, 'How do I get the VPN working at home?'],
  [4, 'Could I have an extra monitor?'],
  [7, 'What should I do with a suspicious email?'],
  [9, 'Where do I enable two-factor sign in?'],
  [12, 'How do I get back a file I deleted from the team drive?'],
  [18, 'How do I turn on automatic replies while I am away?'],
  [21, 'My badge is gone. What now?'],
  [25, 'Who gives me access to finance reports?'],
  [30, 'What is the backup schedule for files?'],
  [44, 'What number do I call for IT at night?'],
];

function example(question, reply) {
  return {messages: [{role: 'system', content: SYSTEM},
                     {role: 'user', content: question},
                     {role: 'assistant', content: reply}]};
}

const TRAINING = FAQ.map(([q, a]) => example(q, a));
const VALIDATION = PARAPHRASES.map(([i, q]) => example(q, FAQ[i][1]));

function jsonl(examples) {
  return Buffer.from(examples.map((e) => JSON.stringify(e)).join('\n') +
                     '\n');
}

// ---- helpers ----

const norm = (s) => (s ?? '').replace(/\s+/g, ' ').trim();

/** The data-plane clients of one account on one server. */
function clientsFor(srv, name, key) {
  const origin = srv.origin(`${name}.openai`);
  return {
    name, key, origin,
    azure: new AzureOpenAI({endpoint: `${origin}/`, apiKey: key,
                            apiVersion: API_VERSION, maxRetries: 0}),
    v1: new OpenAI({baseURL: `${origin}/openai/v1/`, apiKey: key,
                    maxRetries: 0}),
  };
}

async function newAccount(arm, srv, name, opts) {
  const {keys} = await arm.createAccount(name, opts);
  return clientsFor(srv, name, keys.key1);
}

/** A raw request under {origin}/openai/: {status, headers, text, json}. */
async function raw(acct, pathAndQuery, {method = 'GET', body,
                                        headers = {}} = {}) {
  const h = {'api-key': acct.key, ...headers};
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${acct.origin}/openai/${pathAndQuery}`, {
    method, headers: h,
    body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return {status: res.status, headers: res.headers, text, json};
}

const dated = (p) => `${p}${p.includes('?') ? '&' : '?'}api-version=` +
    API_VERSION;

/** A file's content with a raw request: {status, body, code}. */
async function download(acct, id) {
  const res = await fetch(
      `${acct.origin}/openai/${dated(`files/${id}/content`)}`,
      {headers: {'api-key': acct.key}});
  const body = Buffer.from(await res.arrayBuffer());
  let code;
  if (!res.ok) {
    try { code = JSON.parse(body.toString()).error?.code; } catch { /**/ }
  }
  return {status: res.status, body, code};
}

async function upload(client, bytes, filename, purpose = 'fine-tune') {
  return client.files.create({file: await toFile(bytes, filename), purpose});
}

async function uploadTraining(acct, examples, filename = 'train.jsonl',
                              client = acct.azure) {
  const f = await upload(client, jsonl(examples), filename);
  assert.equal(f.status, 'processed', JSON.stringify(f));
  return f;
}

/** Polls the job until its status is one of `statuses`. */
async function waitJob(acct, id, statuses = TERMINAL, limit = 60000) {
  let last;
  const r = await poll(async () => {
    last = await acct.azure.fineTuning.jobs.retrieve(id);
    return statuses.includes(last.status);
  }, limit);
  assert.notEqual(r, null, `job ${id} still ${last?.status} after ${limit} ` +
                  `ms: ${JSON.stringify(last)}`);
  return last;
}

async function waitSucceeded(acct, id, limit = 60000) {
  const job = await waitJob(acct, id, TERMINAL, limit);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  return job;
}

async function allEvents(acct, id) {
  return (await acct.azure.fineTuning.jobs.listEvents(id, {limit: 1000}))
      .data;
}

/** Waits until the job runs and its trainer has reported a step. */
async function waitTraining(acct, id, limit = 30000) {
  let job;
  const r = await poll(async () => {
    job = await acct.azure.fineTuning.jobs.retrieve(id);
    assert.ok(['pending', 'running'].includes(job.status),
              `the job ended before training: ${JSON.stringify(job)}`);
    return job.status === 'running' &&
        (await allEvents(acct, id)).some((e) => e.type === 'metrics');
  }, limit);
  assert.notEqual(r, null, `job ${id} reported no step in ${limit} ms: ` +
                  JSON.stringify(job));
  job = await acct.azure.fineTuning.jobs.retrieve(id);
  assert.equal(job.status, 'running', JSON.stringify(job));
  return job;
}

/** Uploads `examples`, fine-tunes `model` on them and waits for success. */
async function train(acct, examples, {model = BASE, hyperparameters,
                                      suffix, filename} = {}) {
  const file = await uploadTraining(acct, examples, filename);
  const job = await acct.azure.fineTuning.jobs.create({
    model, training_file: file.id, hyperparameters, suffix});
  return {file, job: await waitSucceeded(acct, job.id)};
}

async function deploy(arm, account, name, model) {
  return arm.cs.deployments.beginCreateOrUpdateAndWait(
      arm.group, account, name, {
        sku: {name: 'Standard', capacity: 1},
        properties: {model: {format: 'OpenAI', name: model, version: '1'}}});
}

function chatMessages(question) {
  return [{role: 'system', content: SYSTEM}, {role: 'user', content: question}];
}

async function ask(client, deployment, question, extra = {}) {
  return client.chat.completions.create({
    model: deployment, messages: chatMessages(question), temperature: 0,
    max_tokens: 400, ...extra});
}

/** Asks every example's question; asserts that at least `share` of the
 *  replies are the trained reply. Resolves to the completions. */
async function assertAnswers(client, deployment, examples, share = 0.9) {
  const misses = [];
  const out = [];
  for (const e of examples) {
    const [, user, assistant] = e.messages;
    const c = await ask(client, deployment, user.content);
    out.push(c);
    const got = c.choices[0].message.content;
    if (norm(got) !== norm(assistant.content)) {
      misses.push(`Q: ${user.content}\n  want: ${assistant.content}\n` +
                  `  got:  ${got}`);
    }
  }
  const hits = examples.length - misses.length;
  assert.ok(hits >= Math.ceil(share * examples.length),
            `${hits}/${examples.length} trained replies; misses:\n` +
            misses.slice(0, 5).join('\n'));
  return out;
}

/** Asserts that every question of `expected` (question -> reply) still
 *  gets the same reply. */
async function assertSameAnswers(client, deployment, expected) {
  for (const [question, reply] of expected) {
    const c = await ask(client, deployment, question);
    assert.equal(c.choices[0].message.content, reply, question);
  }
}

/** Asserts that `promise` fails as an openai APIError. */
async function refused(promise, status, code, what = '') {
  await assert.rejects(promise, (e) => {
    assert.equal(e.status, status,
                 `${what}: ${e.status} ${e.code} ${e.message}`);
    if (code) assert.equal(e.code, code, `${what}: ${e.message}`);
    return true;
  }, what);
}

/** Asserts that `promise` fails as an ARM RestError. */
async function armRefused(promise, statusCode, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.statusCode, statusCode,
                 `${e.statusCode} ${e.code} ${e.message}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Waits until the account's key is seen as inaccessible (downloads of
 *  `fileId` refused with 403 CustomerManagedKeyInaccessible). */
async function waitRefused(acct, fileId, limit = 5000) {
  const r = await poll(async () => {
    const d = await download(acct, fileId);
    if (d.status === 200) return false;
    assert.equal(d.status, 403, d.body.toString());
    assert.equal(d.code, CMKI, d.body.toString());
    return true;
  }, limit, 100);
  assert.notEqual(r, null, `still readable ${limit} ms after revocation`);
}

async function waitReadable(acct, fileId, expected, limit = 5000) {
  const r = await poll(async () =>
    (await download(acct, fileId)).status === 200, limit, 100);
  assert.notEqual(r, null, `still refused ${limit} ms after restoring`);
  assert.ok((await download(acct, fileId)).body.equals(expected));
}

function trainerEnv(...args) {
  return {ATREST_TRAINING_EXTERNAL_TRAINER_COMMAND:
              [TRAINER, ...args].join(' ')};
}

// ---- the main server (its external trainer runs at full speed) ----

let server;
let arm;

before(async () => {
  assert.ok(existsSync(TRAINER),
            `the example trainer is not built: ${TRAINER}`);
  server = await startServer({env: trainerEnv()});
  arm = await new Arm(server, {group: 'rg-ft'}).init();
});
after(async () => { await server?.stop(); });

describe('the fine-tuning walk', () => {
  const name = 'ft-walk';
  const dep = 'helpdesk';
  const trainBytes = jsonl(TRAINING);
  const validBytes = jsonl(VALIDATION);
  let acct;
  let trainFile;
  let validFile;
  let job;
  let model;
  let resultsId;
  let resultsCsv;
  let cmk;
  let laterJob;
  let checkpoint;  // A checkpoint's model name.
  const baseline = new Map();  // question -> reply before revocation

  test('upload the training and validation files', async () => {
    assert.equal(TRAINING.length, 50);
    assert.equal(new Set(FAQ.map(([q]) => q)).size, 50);
    assert.equal(new Set(FAQ.map(([, a]) => a)).size, 50);
    acct = await newAccount(arm, server, name);
    trainFile = await upload(acct.azure, trainBytes, 'helpdesk-train.jsonl');
    assert.match(trainFile.id, FILE_ID);
    assert.equal(trainFile.status, 'processed', JSON.stringify(trainFile));
    assert.equal(trainFile.purpose, 'fine-tune');
    assert.equal(trainFile.bytes, trainBytes.length);
    validFile = await upload(acct.azure, validBytes, 'helpdesk-valid.jsonl');
    assert.equal(validFile.status, 'processed', JSON.stringify(validFile));
    assert.ok((await download(acct, trainFile.id)).body.equals(trainBytes));
  });

  test('create a job with the AzureOpenAI client: 201, pending', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const {data, response} = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: trainFile.id,
      validation_file: validFile.id, hyperparameters: {n_epochs: 3},
      suffix: 'helpdesk', seed: 42}).withResponse();
    job = data;
    assert.equal(response.status, 201);
    assert.match(response.headers.get('location') ?? '',
                 new RegExp(`/openai/fine_tuning/jobs/${job.id}$`));
    assert.match(job.id, JOB_ID);
    assert.equal(job.object, 'fine_tuning.job');
    assert.equal(job.status, 'pending');
    assert.equal(job.model, BASE);
    assert.equal(job.training_file, trainFile.id);
    assert.equal(job.validation_file, validFile.id);
    assert.equal(job.suffix, 'helpdesk');
    assert.equal(job.seed, 42);
    assert.equal(job.fine_tuned_model, null);
    assert.equal(job.hyperparameters.n_epochs, 3);
    assert.ok(!job.error, JSON.stringify(job.error));
    assert.ok(job.created_at >= t0 - 1 && job.created_at <= t0 + 5,
              `${job.created_at} vs ${t0}`);
  });

  test('the job runs to success', async () => {
    const done = await waitSucceeded(acct, job.id);
    const hex = job.id.slice('ftjob-'.length);
    model = done.fine_tuned_model;
    assert.equal(model, `${BASE}.ft-${hex}-helpdesk`);
    assert.ok(done.finished_at >= done.created_at, JSON.stringify(done));
    assert.ok(Number.isInteger(done.trained_tokens) &&
              done.trained_tokens > 0, JSON.stringify(done));
    assert.ok(!done.error, JSON.stringify(done.error));
    assert.equal(done.result_files.length, 1, JSON.stringify(done));
    resultsId = done.result_files[0];
    assert.match(resultsId, FILE_ID);
    // Resolved once started: nothing left on auto.
    const h = done.hyperparameters;
    assert.equal(h.n_epochs, 3);
    assert.ok(Number.isInteger(h.batch_size) && h.batch_size >= 1,
              JSON.stringify(h));
    assert.ok(typeof h.learning_rate_multiplier === 'number' &&
              h.learning_rate_multiplier > 0, JSON.stringify(h));
    const listed = [];
    for await (const j of acct.azure.fineTuning.jobs.list()) listed.push(j);
    assert.deepEqual(listed.map((j) => j.id), [job.id]);
    assert.equal(listed[0].status, 'succeeded');
  });

  test('events: newest first, with metrics, paginated', async () => {
    const page = await acct.azure.fineTuning.jobs.listEvents(job.id,
                                                             {limit: 1000});
    const all = page.data;
    assert.equal(page.has_more, false);
    assert.ok(all.length >= 6, JSON.stringify(all));
    for (const e of all) {
      assert.match(e.id, EVENT_ID);
      assert.equal(e.object, 'fine_tuning.job.event');
      assert.ok(['info', 'warning', 'warn', 'error'].includes(e.level),
                JSON.stringify(e));
      assert.ok(typeof e.message === 'string' && e.message.length > 0);
    }
    assert.equal(new Set(all.map((e) => e.id)).size, all.length);
    for (let i = 1; i < all.length; i++) {
      assert.ok(all[i - 1].created_at >= all[i].created_at,
                'events are not newest first');
    }
    assert.match(all[0].message, /succeeded/i, JSON.stringify(all[0]));
    assert.match(all.at(-1).message, /enqueued/i, JSON.stringify(all.at(-1)));
    assert.ok(all.some((e) => /started/i.test(e.message)));
    assert.ok(all.some((e) => /results file/i.test(e.message) &&
                              e.message.includes(resultsId)));
    const metrics = all.filter((e) => e.type === 'metrics');
    assert.ok(metrics.length >= 3, `${metrics.length} metrics events`);
    for (const m of metrics) {
      assert.ok(Number.isInteger(m.data.step) && m.data.step >= 1);
      assert.ok(Number.isFinite(m.data.train_loss));
    }
    // Newest first: the steps count down.
    const steps = metrics.map((m) => m.data.step);
    assert.deepEqual(steps, [...steps].sort((a, b) => b - a));

    // Pages of 4 by `after`, by hand and by the SDK's iterator.
    const p1 = await acct.azure.fineTuning.jobs.listEvents(job.id,
                                                           {limit: 4});
    const ids = (events) => events.map((e) => e.id);
    assert.deepEqual(ids(p1.data), ids(all.slice(0, 4)));
    assert.equal(p1.has_more, true);
    const p2 = await acct.azure.fineTuning.jobs.listEvents(job.id, {
      limit: 4, after: p1.data.at(-1).id});
    assert.deepEqual(ids(p2.data), ids(all.slice(4, 8)));
    const iterated = [];
    for await (const e of acct.azure.fineTuning.jobs.listEvents(job.id,
                                                                {limit: 4})) {
      iterated.push(e.id);
    }
    assert.deepEqual(iterated, all.map((e) => e.id));
    // Malformed cursors and limits are the client's error, not the
    // server's.
    const cursor = all[0].id;
    for (const after of [`${cursor.slice(0, -16)}${'z'.repeat(16)}`,
                         `${cursor.slice(0, -16)}-${'0'.repeat(15)}`,
                         'ftevent-x', `ftevent-${'0'.repeat(32)}`]) {
      const r = await raw(acct, dated(
          `fine_tuning/jobs/${job.id}/events?after=${after}`));
      assert.ok(r.status === 400 || r.status === 404,
                `after=${after}: ${r.status} ${r.text}`);
      assert.ok(r.json?.error?.code, r.text);
    }
    for (const limit of ['0', '-1', 'x', '1001']) {
      const r = await raw(acct, dated(
          `fine_tuning/jobs/${job.id}/events?limit=${limit}`));
      assert.equal(r.status, 400, `limit=${limit}: ${r.text}`);
    }
    // The server is still there.
    assert.equal((await acct.azure.fineTuning.jobs.retrieve(job.id)).id,
                 job.id);
  });

  test('checkpoints: newest first, named after the model', async () => {
    const page = await acct.azure.fineTuning.jobs.checkpoints.list(
        job.id, {limit: 100});
    const cps = page.data;
    assert.ok(cps.length >= 2, JSON.stringify(cps));
    for (const c of cps) {
      assert.match(c.id, CHECKPOINT_ID);
      assert.equal(c.object, 'fine_tuning.job.checkpoint');
      assert.equal(c.fine_tuning_job_id, job.id);
      assert.equal(c.fine_tuned_model_checkpoint,
                   `${model}:ckpt-step-${c.step_number}`);
      assert.equal(typeof c.metrics, 'object');
    }
    const steps = cps.map((c) => c.step_number);
    assert.equal(new Set(steps).size, steps.length);
    assert.deepEqual(steps, [...steps].sort((a, b) => b - a));
    const p1 = await acct.azure.fineTuning.jobs.checkpoints.list(job.id,
                                                                 {limit: 1});
    assert.equal(p1.data[0].id, cps[0].id);
    assert.equal(p1.has_more, true);
    const p2 = await acct.azure.fineTuning.jobs.checkpoints.list(job.id, {
      limit: 1, after: cps[0].id});
    assert.equal(p2.data[0].id, cps[1].id);
    checkpoint = cps[0].fine_tuned_model_checkpoint;
  });

  test('the results file: results.csv whose train_loss falls', async () => {
    const f = await acct.azure.files.retrieve(resultsId);
    assert.equal(f.purpose, 'fine-tune-results');
    assert.equal(f.filename, 'results.csv');
    assert.equal(f.status, 'processed');
    const listed = [];
    for await (const x of acct.azure.files.list({purpose:
                                                 'fine-tune-results'})) {
      listed.push(x.id);
    }
    assert.deepEqual(listed, [resultsId]);
    resultsCsv = await (await acct.azure.files.content(resultsId)).text();
    assert.equal(f.bytes, Buffer.byteLength(resultsCsv));
    const lines = resultsCsv.trim().split('\n');
    assert.equal(lines[0], RESULTS_HEADER);
    const rows = lines.slice(1).map((l) => {
      const c = l.split(',');
      assert.equal(c.length, 7, l);
      const num = (s) => (s === '' ? null : Number(s));
      return {step: Number(c[0]), train_loss: num(c[1]), acc: num(c[2]),
              valid_loss: num(c[3]), full_valid_loss: num(c[5])};
    });
    const events = (await allEvents(acct, job.id))
                       .filter((e) => e.type === 'metrics');
    assert.equal(rows.length, events.length);
    assert.ok(rows.length >= 6, `${rows.length} rows`);
    rows.forEach((r, i) => {
      assert.equal(r.step, i + 1);
      assert.ok(Number.isFinite(r.train_loss) && r.train_loss >= 0);
      assert.ok(r.acc >= 0 && r.acc <= 1, `${r.acc}`);
    });
    // The validation file was evaluated.
    assert.ok(rows.some((r) => Number.isFinite(r.full_valid_loss)),
              resultsCsv);
    assert.ok(rows.some((r) => Number.isFinite(r.valid_loss)), resultsCsv);
    const third = Math.floor(rows.length / 3);
    const mean = (rs) => rs.reduce((s, r) => s + r.train_loss, 0) / rs.length;
    const first = mean(rows.slice(0, third));
    const last = mean(rows.slice(rows.length - third));
    assert.ok(last < first, `train_loss: first third ${first}, last ${last}`);
  });

  test('the fine-tuned model is listed next to the base models', async () => {
    const models = [];
    for await (const m of acct.azure.models.list()) models.push(m);
    const byId = new Map(models.map((m) => [m.id, m]));
    assert.ok(byId.has(BASE), JSON.stringify([...byId.keys()]));
    assert.ok(byId.has(EXTERNAL), JSON.stringify([...byId.keys()]));
    assert.equal(byId.get(BASE).capabilities.fine_tune, true);
    const ft = byId.get(model);
    assert.ok(ft, JSON.stringify([...byId.keys()]));
    assert.equal(ft.object, 'model');
    assert.equal(ft.model, BASE);
    assert.equal(ft.fine_tune, job.id);
    assert.equal(ft.capabilities.fine_tune, false);
    assert.equal(ft.capabilities.inference, true);
    assert.equal(ft.capabilities.chat_completion, true);
    const got = await acct.azure.models.retrieve(model);
    assert.equal(got.id, model);
    assert.equal(got.fine_tune, job.id);
    // Models are not files.
    const files = [];
    for await (const f of acct.azure.files.list()) files.push(f.id);
    assert.deepEqual(new Set(files),
                     new Set([trainFile.id, validFile.id, resultsId]));
  });

  test('deploy the model with @azure/arm-cognitiveservices', async () => {
    const d = await deploy(arm, name, dep, model);
    assert.equal(d.name, dep);
    assert.equal(d.type, 'Microsoft.CognitiveServices/accounts/deployments');
    assert.equal(d.id, `${arm.accountPath(name)}/deployments/${dep}`);
    assert.equal(d.properties.provisioningState, 'Succeeded');
    assert.deepEqual(
        {format: d.properties.model.format, name: d.properties.model.name,
         version: d.properties.model.version},
        {format: 'OpenAI', name: model, version: '1'});
    assert.equal(d.sku.name, 'Standard');
    assert.equal(d.sku.capacity, 1);
    const got = await arm.cs.deployments.get(arm.group, name, dep);
    assert.equal(got.properties.model.name, model);
    const listed = [];
    for await (const x of arm.cs.deployments.list(arm.group, name)) {
      listed.push(x.name);
    }
    assert.deepEqual(listed, [dep]);
    // PATCH changes the sku, not the model.
    const u = await arm.cs.deployments.beginUpdateAndWait(arm.group, name, dep,
                                                          {sku: {
                                                            name: 'Standard',
                                                            capacity: 2}});
    assert.equal(u.sku.capacity, 2);
    assert.equal(u.properties.model.name, model);
    assert.equal((await arm.cs.deployments.get(arm.group, name, dep)).sku
                     .capacity, 2);
  });

  test('a checkpoint deploys too', async () => {
    const d = await deploy(arm, name, `${dep}-ckpt`, checkpoint);
    assert.equal(d.properties.model.name, checkpoint);
    // systemData times are ISO 8601 on the wire: the SDK reads them as dates
    // of this decade, not of 1970.
    assert.ok(d.systemData.createdAt.getUTCFullYear() >= 2025,
              String(d.systemData.createdAt));
    const c = await ask(acct.azure, `${dep}-ckpt`, FAQ[2][0]);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.ok(c.choices[0].message.content.length > 0);
  });

  test('chat at temperature 0 gives the trained reply for at least 90% of ' +
       'the training prompts; usage is counted', async () => {
    const out = await assertAnswers(acct.azure, dep, TRAINING);
    out.forEach((c, i) =>
      baseline.set(FAQ[i][0], c.choices[0].message.content));
    for (const c of out) {
      assert.match(c.id, /^chatcmpl-/);
      assert.equal(c.object, 'chat.completion');
      assert.equal(c.model, model);
      assert.equal(c.choices.length, 1);
      assert.equal(c.choices[0].message.role, 'assistant');
      assert.ok(['stop', 'length'].includes(c.choices[0].finish_reason));
      const u = c.usage;
      assert.ok(u.prompt_tokens > 0 && u.completion_tokens > 0,
                JSON.stringify(u));
      assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    }
    // A longer prompt counts more prompt tokens.
    const short = await ask(acct.azure, dep, 'Hi.');
    const long = await ask(acct.azure, dep, FAQ[49][0] + ' ' + FAQ[48][0]);
    assert.ok(long.usage.prompt_tokens > short.usage.prompt_tokens);
    // max_tokens bounds the reply.
    const cut = await ask(acct.azure, dep, FAQ[3][0], {max_tokens: 3});
    assert.ok(cut.usage.completion_tokens <= 3, JSON.stringify(cut.usage));
    assert.equal(cut.choices[0].finish_reason, 'length');
    // Requests the deployment cannot take.
    const q = FAQ[3][0];
    for (const [what, body] of [
      ['temperature 2.5', {temperature: 2.5}], ['top_p 1.5', {top_p: 1.5}],
      ['n 2', {n: 2}], ['max_tokens 0', {max_tokens: 0}],
      ['five stop sequences', {stop: ['a', 'b', 'c', 'd', 'e']}],
      ['no messages', {messages: []}],
      ['an unknown role', {messages: [{role: 'wizard', content: q}]}]]) {
      await refused(ask(acct.azure, dep, q, body), 400, undefined, what);
    }
  });

  test('streaming gives the same replies, chunk by chunk, ending in [DONE]',
       async () => {
    for (const i of [0, 17, 42]) {
      const plain = await ask(acct.azure, dep, FAQ[i][0]);
      const stream = await ask(acct.azure, dep, FAQ[i][0], {
        stream: true, stream_options: {include_usage: true}});
      let text = '';
      let chunks = 0;
      let finish = null;
      let usage = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        assert.equal(chunk.model, model);
        assert.match(chunk.id, /^chatcmpl-/);
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          chunks++;
          text += c.delta?.content ?? '';
          if (c.finish_reason) finish = c.finish_reason;
        }
      }
      assert.equal(text, plain.choices[0].message.content);
      assert.ok(chunks > 3, `${chunks} chunks`);
      assert.equal(finish, plain.choices[0].finish_reason);
      assert.deepEqual(usage, plain.usage);
    }
    const res = await raw(acct, dated(`deployments/${dep}/chat/completions`), {
      method: 'POST', body: {messages: chatMessages(FAQ[5][0]),
                             temperature: 0, stream: true}});
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const events = res.text.split('\n\n').filter((s) => s.trim());
    assert.ok(events.every((e) => e.startsWith('data: ')), res.text);
    assert.equal(events.at(-1), 'data: [DONE]');
    const text = events.slice(0, -1)
                     .map((e) => JSON.parse(e.slice(6)))
                     .map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(norm(text), norm(FAQ[5][1]));
  });

  test('a customer-managed key on the account: everything keeps working',
       async () => {
    cmk = await arm.enableCmk(name, 'kvft-walk');
    assert.equal(cmk.account.properties.encryptionStatus.state, 'active');
    assert.ok((await download(acct, trainFile.id)).body.equals(trainBytes));
    assert.equal((await (await acct.azure.files.content(resultsId)).text()),
                 resultsCsv);
    const c = await ask(acct.azure, dep, FAQ[10][0]);
    assert.equal(norm(c.choices[0].message.content), norm(FAQ[10][1]));
  });

  test('revoked: loaded deployments keep serving; downloads, new jobs and ' +
       'new deployments are refused', async () => {
    await arm.revoke(cmk.vault, cmk.principal);
    await waitRefused(acct, trainFile.id);
    for (const id of [validFile.id, resultsId]) {
      const d = await download(acct, id);
      assert.equal(d.status, 403, `${id}: ${d.status} ${d.body}`);
      assert.equal(d.code, CMKI);
    }
    await refused(acct.azure.files.content(resultsId), 403, CMKI,
                  'results download');
    // The deployment loaded before keeps answering, plain and streamed.
    await assertSameAnswers(acct.azure, dep, baseline);
    const stream = await ask(acct.azure, dep, FAQ[1][0], {stream: true});
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(text, baseline.get(FAQ[1][0]));
    // No new job ...
    await refused(acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: trainFile.id}), 403, CMKI, 'new job');
    const jobs = (await acct.azure.fineTuning.jobs.list()).data;
    assert.deepEqual(jobs.map((j) => j.id), [job.id]);
    // ... and no new deployment.
    await armRefused(deploy(arm, name, `${dep}-2`, model), 403, CMKI);
    await armRefused(arm.cs.deployments.get(arm.group, name, `${dep}-2`),
                     404);
    // Metadata still answers.
    assert.equal((await acct.azure.fineTuning.jobs.retrieve(job.id)).status,
                 'succeeded');
    assert.ok((await acct.azure.fineTuning.jobs.listEvents(job.id)).data
                  .length > 0);
    assert.equal((await acct.azure.models.retrieve(model)).id, model);
    assert.equal((await acct.azure.files.retrieve(resultsId)).id, resultsId);
    assert.equal((await arm.cs.deployments.get(arm.group, name, dep))
                     .properties.model.name, model);
    const s = (await arm.cs.accounts.get(arm.group, name)).properties
                  .encryptionStatus;
    assert.equal(s.state, 'inaccessible', JSON.stringify(s));
  });

  test('restored: downloads, new jobs and new deployments work again',
       async () => {
    await arm.grant(cmk.vault, cmk.principal);
    await waitReadable(acct, trainFile.id, trainBytes);
    assert.equal((await (await acct.azure.files.content(resultsId)).text()),
                 resultsCsv);
    const d2 = await deploy(arm, name, `${dep}-2`, model);
    assert.equal(d2.properties.provisioningState, 'Succeeded');
    const c = await ask(acct.azure, `${dep}-2`, FAQ[20][0]);
    assert.equal(norm(c.choices[0].message.content), norm(FAQ[20][1]));
    await arm.cs.deployments.beginDeleteAndWait(arm.group, name, `${dep}-2`);
    const j = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: trainFile.id,
      hyperparameters: {n_epochs: 1}});
    laterJob = await waitSucceeded(acct, j.id);
    assert.notEqual(laterJob.fine_tuned_model, model);
  });

  test('delete the deployment, then the model (409 while deployed)',
       async () => {
    await refused(acct.azure.models.delete(model), 409, 'conflict',
                  'model delete while deployed');
    assert.equal((await acct.azure.models.retrieve(model)).id, model);
    await arm.cs.deployments.beginDeleteAndWait(arm.group, name, dep);
    await armRefused(arm.cs.deployments.get(arm.group, name, dep), 404);
    // Its checkpoint is still deployed: neither the model nor the job (which
    // would take its checkpoints) goes.
    await refused(acct.azure.models.delete(model), 409, 'conflict',
                  'model delete while a checkpoint is deployed');
    const jobDelete = await raw(acct, dated(`fine_tuning/jobs/${job.id}`),
                                {method: 'DELETE'});
    assert.equal(jobDelete.status, 409, jobDelete.text);
    assert.equal(jobDelete.json.error.code, 'conflict');
    await arm.cs.deployments.beginDeleteAndWait(arm.group, name,
                                                `${dep}-ckpt`);
    await refused(ask(acct.azure, dep, FAQ[0][0]), 404, 'DeploymentNotFound',
                  'chat on the deleted deployment');
    const del = await acct.azure.models.delete(model);
    assert.deepEqual(del, {id: model, object: 'model', deleted: true});
    await refused(acct.azure.models.retrieve(model), 404, undefined,
                  'deleted model');
    const ids = [];
    for await (const m of acct.azure.models.list()) ids.push(m.id);
    assert.ok(!ids.includes(model));
    assert.ok(ids.includes(laterJob.fine_tuned_model));
    // Base models cannot be deleted, nor the deleted model deployed.
    await assert.rejects(acct.azure.models.delete(BASE),
                         (e) => e.status >= 400 && e.status < 500);
    await armRefused(deploy(arm, name, dep, model), 400);
    await acct.azure.models.delete(laterJob.fine_tuned_model);
  });

  test('delete the jobs and the files', async () => {
    for (const id of [job.id, laterJob.id]) {
      const r = await raw(acct, dated(`fine_tuning/jobs/${id}`),
                          {method: 'DELETE'});
      assert.equal(r.status, 204, r.text);
      await refused(acct.azure.fineTuning.jobs.retrieve(id), 404, undefined,
                    'deleted job');
      await refused(acct.azure.fineTuning.jobs.listEvents(id), 404,
                    undefined, 'events of a deleted job');
    }
    assert.deepEqual((await acct.azure.fineTuning.jobs.list()).data, []);
    const files = [];
    for await (const f of acct.azure.files.list()) files.push(f.id);
    for (const id of files) {
      assert.deepEqual(await acct.azure.files.delete(id),
                       {id, object: 'file', deleted: true});
      await refused(acct.azure.files.retrieve(id), 404, undefined,
                    'deleted file');
    }
    assert.ok(files.includes(trainFile.id) && files.includes(resultsId));
    assert.deepEqual((await acct.azure.files.list()).data, []);
  });
});

describe('the v1 API with the plain OpenAI client', () => {
  const examples = TRAINING.slice(10, 30);
  let acct;
  let first;
  let second;

  test('create (200), list newest first with pagination, retrieve',
       async () => {
    acct = await newAccount(arm, server, 'ft-v1', {identity: false});
    const file = await uploadTraining(acct, examples, 'v1.jsonl', acct.v1);
    const {data, response} = await acct.v1.fineTuning.jobs.create({
      model: BASE, training_file: file.id, suffix: 'v1'}).withResponse();
    assert.equal(response.status, 200);
    first = data;
    assert.match(first.id, JOB_ID);
    assert.equal(first.status, 'pending');
    second = await acct.v1.fineTuning.jobs.create({
      model: BASE, training_file: file.id, hyperparameters: {n_epochs: 1}});
    const ids = [];
    for await (const j of acct.v1.fineTuning.jobs.list({limit: 1})) {
      ids.push(j.id);
    }
    assert.deepEqual(ids, [second.id, first.id]);
    const p1 = await acct.v1.fineTuning.jobs.list({limit: 1});
    assert.equal(p1.has_more, true);
    const p2 = await acct.v1.fineTuning.jobs.list({limit: 1,
                                                   after: second.id});
    assert.deepEqual(p2.data.map((j) => j.id), [first.id]);
    assert.equal(p2.has_more, false);
    first = await acct.v1.fineTuning.jobs.retrieve(first.id);
    assert.equal(first.training_file, file.id);
    for (const j of [first, second]) await waitSucceeded(acct, j.id);
    first = await acct.v1.fineTuning.jobs.retrieve(first.id);
    second = await acct.v1.fineTuning.jobs.retrieve(second.id);
    assert.match(first.fine_tuned_model,
                 new RegExp(`^${BASE}\\.ft-[0-9a-f]{32}-v1$`));
    assert.ok((await acct.v1.fineTuning.jobs.listEvents(first.id)).data
                  .length > 0);
    // The same job on the dated API.
    const r = await raw(acct, dated(`fine_tuning/jobs/${first.id}`));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, first);
  });

  test('models.list and models.retrieve', async () => {
    const page = await acct.v1.models.list();
    const ids = page.data.map((m) => m.id);
    for (const id of [BASE, first.fine_tuned_model, second.fine_tuned_model]) {
      assert.ok(ids.includes(id), `${id} not in ${ids}`);
    }
    const m = await acct.v1.models.retrieve(first.fine_tuned_model);
    assert.equal(m.id, first.fine_tuned_model);
    assert.equal(m.object, 'model');
  });

  test('chat on v1: model names the deployment', async () => {
    await deploy(arm, 'ft-v1', 'v1-chat', first.fine_tuned_model);
    const out = await assertAnswers(acct.v1, 'v1-chat', examples);
    assert.ok(out.every((c) => c.usage.total_tokens > 0));
    const stream = await ask(acct.v1, 'v1-chat', FAQ[12][0], {stream: true});
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(norm(text), norm(FAQ[12][1]));
    await refused(ask(acct.v1, 'no-such-deployment', FAQ[12][0]), 404,
                  'DeploymentNotFound', 'v1 unknown deployment');
    await refused(ask(acct.azure, 'no-such-deployment', FAQ[12][0]), 404,
                  'DeploymentNotFound', 'dated unknown deployment');
  });

  test('another account sees none of it', async () => {
    const other = await newAccount(arm, server, 'ft-v1-other',
                                   {identity: false});
    const model = first.fine_tuned_model;
    await refused(other.v1.fineTuning.jobs.retrieve(first.id), 404, undefined,
                  'job');
    await refused(other.v1.fineTuning.jobs.listEvents(first.id), 404,
                  undefined, 'events');
    await refused(other.v1.fineTuning.jobs.cancel(first.id), 404, undefined,
                  'cancel');
    assert.deepEqual((await other.v1.fineTuning.jobs.list()).data, []);
    await refused(other.v1.models.retrieve(model), 404, undefined, 'model');
    assert.ok(!(await other.v1.models.list()).data.some((m) => m.id === model));
    await refused(other.v1.models.delete(model), 404, undefined,
                  'model delete');
    await refused(ask(other.v1, 'v1-chat', FAQ[12][0]), 404,
                  'DeploymentNotFound', 'chat');
    await refused(other.v1.fineTuning.jobs.create({
      model: BASE, training_file: first.training_file}), 400, undefined,
                  'job on another account\'s file');
    await armRefused(deploy(arm, 'ft-v1-other', 'borrowed', model), 400,
                     'DeploymentModelNotFound');
    // Nor does the other account's key open this one.
    const wrongKey = clientsFor(server, 'ft-v1', other.key);
    await refused(wrongKey.v1.fineTuning.jobs.retrieve(first.id), 401,
                  undefined, 'wrong key');
    await refused(ask(wrongKey.v1, 'v1-chat', FAQ[12][0]), 401, undefined,
                  'chat with the wrong key');
    // The dated API without api-version is 404, as Azure's.
    for (const p of ['fine_tuning/jobs', `fine_tuning/jobs/${first.id}`,
                     'models']) {
      const r = await raw(acct, p);
      assert.equal(r.status, 404, `${p}: ${r.status} ${r.text}`);
    }
  });

  test('the same seed and data train the same way', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      runs.push(await acct.v1.fineTuning.jobs.create({
        model: BASE, training_file: first.training_file, seed: 7,
        hyperparameters: {n_epochs: 2, batch_size: 4}}));
    }
    const done = [];
    for (const j of runs) done.push(await waitSucceeded(acct, j.id));
    assert.equal(done[0].seed, 7);
    const csv = [];
    for (const d of done) {
      csv.push(await (await acct.v1.files.content(d.result_files[0])).text());
    }
    assert.equal(csv[0], csv[1]);
    assert.equal(done[0].trained_tokens, done[1].trained_tokens);
    assert.deepEqual(done[0].hyperparameters, done[1].hyperparameters);
  });

  test('cancel and delete answer on v1; a finished job cannot be cancelled',
       async () => {
    await refused(acct.v1.fineTuning.jobs.cancel(first.id), 400,
                  'unexpectedEntityState', 'cancel a finished job');
    await refused(acct.v1.fineTuning.jobs.retrieve(`ftjob-${'0'.repeat(32)}`),
                  404, undefined, 'unknown job');
    const r = await raw(acct, `v1/fine_tuning/jobs/${second.id}`,
                        {method: 'DELETE'});
    assert.equal(r.status, 204, r.text);
    await refused(acct.v1.fineTuning.jobs.retrieve(second.id), 404,
                  undefined, 'deleted job');
    // The job's model stays.
    assert.equal((await acct.v1.models.retrieve(second.fine_tuned_model)).id,
                 second.fine_tuned_model);
  });
});

describe('refused job requests', () => {
  let acct;
  let good;
  let assistants;
  let invalid;

  before(async () => {
    acct = await newAccount(arm, server, 'ft-rules', {identity: false});
    good = await uploadTraining(acct, TRAINING.slice(0, 12));
    assistants = await upload(acct.azure, jsonl(TRAINING.slice(0, 12)),
                              'other.jsonl', 'assistants');
    assert.equal(assistants.purpose, 'assistants');
    // Nine examples and a line that is not a chat example.
    invalid = await upload(acct.azure, Buffer.concat([
      jsonl(TRAINING.slice(0, 9)), Buffer.from('{"prompt": "x"}\n')]),
                           'bad.jsonl');
    assert.equal(invalid.status, 'error', JSON.stringify(invalid));
  });

  const create = (body) => acct.azure.fineTuning.jobs.create(body);

  test('an unknown base model: 400', async () => {
    await assert.rejects(create({model: 'gpt-4o-mini-2024-07-18',
                                 training_file: good.id}), (e) => {
      assert.equal(e.status, 400, e.message);
      assert.match(e.message, new RegExp(BASE));
      return true;
    });
    await refused(create({training_file: good.id}), 400, undefined,
                  'no model');
  });

  test('a training file with another purpose: 400', async () => {
    await refused(create({model: BASE, training_file: assistants.id}), 400,
                  undefined, 'assistants file');
    await refused(create({model: BASE, training_file: good.id,
                          validation_file: assistants.id}), 400, undefined,
                  'assistants validation file');
  });

  test('a missing training file: 400', async () => {
    await refused(create({model: BASE}), 400, undefined, 'no training_file');
    await refused(create({model: BASE,
                          training_file: `file-${'0'.repeat(32)}`}),
                  400, undefined, 'unknown training_file');
    await refused(create({model: BASE, training_file: good.id,
                          validation_file: `file-${'1'.repeat(32)}`}),
                  400, undefined, 'unknown validation_file');
  });

  test('a training file that failed validation: 400', async () => {
    await refused(create({model: BASE, training_file: invalid.id}), 400,
                  'jsonlValidationFailed', 'invalid training file');
  });

  test('bad hyperparameters and suffixes: 400', async () => {
    const bad = [
      {n_epochs: 0}, {n_epochs: 51}, {n_epochs: 2.5}, {n_epochs: 'many'},
      {batch_size: 0}, {batch_size: -4}, {batch_size: 'big'},
      {learning_rate_multiplier: 0}, {learning_rate_multiplier: -1},
      {learning_rate_multiplier: 'fast'}];
    for (const hyperparameters of bad) {
      await refused(create({model: BASE, training_file: good.id,
                            hyperparameters}), 400, undefined,
                    JSON.stringify(hyperparameters));
    }
    await refused(create({model: BASE, training_file: good.id,
                          hyperparameters: [3]}), 400, undefined,
                  'hyperparameters array');
    for (const suffix of ['x'.repeat(41), 'has space', 'dot.ted', 'é']) {
      await refused(create({model: BASE, training_file: good.id, suffix}),
                    400, undefined, `suffix ${suffix}`);
    }
    await refused(create({model: BASE, training_file: good.id, seed: -1}),
                  400, undefined, 'seed -1');
  });

  test('nothing was created; unknown jobs are 404', async () => {
    assert.deepEqual((await acct.azure.fineTuning.jobs.list()).data, []);
    const unknown = `ftjob-${'a'.repeat(32)}`;
    await refused(acct.azure.fineTuning.jobs.retrieve(unknown), 404, undefined,
                  'retrieve');
    await refused(acct.azure.fineTuning.jobs.cancel(unknown), 404, undefined,
                  'cancel');
    await refused(acct.azure.fineTuning.jobs.listEvents(unknown), 404,
                  undefined, 'events');
    await refused(acct.azure.fineTuning.jobs.checkpoints.list(unknown), 404,
                  undefined, 'checkpoints');
    await refused(acct.azure.models.retrieve('no-such-model'), 404, undefined,
                  'model');
  });

  test('deployments of a base model or of no model: ARM 400', async () => {
    await armRefused(deploy(arm, 'ft-rules', 'base', BASE), 400,
                     'DeploymentModelNotSupported');
    await armRefused(deploy(arm, 'ft-rules', 'none',
                            `${BASE}.ft-${'0'.repeat(32)}`), 400,
                     'DeploymentModelNotFound');
    const listed = [];
    for await (const d of arm.cs.deployments.list(arm.group, 'ft-rules')) {
      listed.push(d.name);
    }
    assert.deepEqual(listed, []);
  });
});

describe('the external trainer', () => {
  test('a job on the external trainer succeeds; its model deploys and ' +
       'answers', async () => {
    const acct = await newAccount(arm, server, 'ft-ext', {identity: false});
    const examples = TRAINING.slice(20, 40);
    const {job} = await train(acct, examples, {
      model: EXTERNAL, hyperparameters: {n_epochs: 2}, suffix: 'ext'});
    assert.equal(job.model, EXTERNAL);
    assert.equal(job.fine_tuned_model,
                 `${EXTERNAL}.ft-${job.id.slice(6)}-ext`);
    assert.equal(job.hyperparameters.n_epochs, 2);
    assert.ok(job.hyperparameters.batch_size >= 1);
    assert.ok(job.trained_tokens > 0);
    const events = await allEvents(acct, job.id);
    assert.ok(events.filter((e) => e.type === 'metrics').length >= 2);
    const csv = await (await acct.azure.files.content(job.result_files[0]))
                    .text();
    assert.equal(csv.split('\n')[0], RESULTS_HEADER);
    const m = await acct.azure.models.retrieve(job.fine_tuned_model);
    assert.equal(m.model, EXTERNAL);
    await deploy(arm, 'ft-ext', 'ext-chat', job.fine_tuned_model);
    await assertAnswers(acct.azure, 'ext-chat', examples);
  });
});

describe('external trainer failures', () => {
  // Each needs its own server: the trainer's command is a server setting.
  async function failingRun(args) {
    const srv = await startServer({env: trainerEnv(...args)});
    try {
      const a = await new Arm(srv, {group: 'rg-ft-fail'}).init();
      const acct = await newAccount(a, srv, 'ft-fail', {identity: false});
      const file = await uploadTraining(acct, TRAINING.slice(0, 12));
      const job = await acct.azure.fineTuning.jobs.create({
        model: EXTERNAL, training_file: file.id});
      const done = await waitJob(acct, job.id);
      const models = (await acct.azure.models.list()).data.map((m) => m.id);
      const events = await allEvents(acct, job.id);
      return {done, models, events};
    } finally {
      await srv.stop();
    }
  }

  function assertFailed({done, models, events}) {
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.equal(done.fine_tuned_model, null);
    assert.ok(!done.result_files?.length, JSON.stringify(done));
    assert.ok(done.error.message.length > 0, JSON.stringify(done.error));
    assert.deepEqual(models.filter((m) => m.includes('.ft-')), []);
    assert.equal(events[0].level, 'error', JSON.stringify(events[0]));
  }

  test('the trainer blames the training file: invalid_training_file, ' +
       'param training_file', async () => {
    const r = await failingRun(['--fail-with', 'invalid_training_file']);
    assertFailed(r);
    assert.equal(r.done.error.code, 'invalid_training_file');
    assert.equal(r.done.error.param, 'training_file');
  });

  test('the trainer fails for its own reasons: a trainer failure',
       async () => {
    const r = await failingRun(['--fail-with', 'gpu_out_of_memory']);
    assertFailed(r);
    assert.notEqual(r.done.error.code, 'invalid_training_file');
    assert.match(r.done.error.message, /gpu_out_of_memory/);
    assert.equal(r.done.error.param ?? null, null);
  });

  test('the trainer exits without "done": failed, its model not kept',
       async () => {
    const r = await failingRun(['--exit-early']);
    assertFailed(r);
    assert.ok(r.events.some((e) => e.type === 'metrics'));
  });
});

describe('unloadDeploymentsOnKeyRevocation', () => {
  test('revocation unloads the deployments at once; after restoring, the ' +
       'next completion loads the model again', async () => {
    const name = 'ft-unload';
    const acct = await newAccount(arm, server, name);
    const examples = TRAINING.slice(30, 50);
    const {file, job} = await train(acct, examples);
    await deploy(arm, name, 'unload-chat', job.fine_tuned_model);
    const cmk = await arm.enableCmk(name, 'kvft-unload');
    await assertAnswers(acct.azure, 'unload-chat', examples.slice(0, 5));

    const patched = await arm.armFetch(arm.accountPath(name), {
      method: 'PATCH',
      body: {properties: {unloadDeploymentsOnKeyRevocation: true}}});
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    const got = await arm.armFetch(arm.accountPath(name));
    assert.equal(got.json.properties.unloadDeploymentsOnKeyRevocation, true,
                 JSON.stringify(got.json.properties));
    // The key is untouched by that PATCH.
    assert.equal(got.json.properties.encryption.keySource,
                 'Microsoft.KeyVault');
    assert.equal(got.json.properties.encryptionStatus.state, 'active');

    await arm.revoke(cmk.vault, cmk.principal);
    const [q] = examples[0].messages.slice(1);
    const unloaded = await poll(async () => {
      try {
        await ask(acct.azure, 'unload-chat', q.content);
        return false;
      } catch (e) {
        assert.equal(e.status, 403, `${e.status} ${e.message}`);
        assert.equal(e.code, CMKI, e.message);
        return true;
      }
    }, 5000, 100);
    assert.notEqual(unloaded, null, 'still answering 5 s after revocation');
    assert.ok(unloaded.ms < 1500, `unloaded after ${unloaded.ms} ms`);
    for (let i = 0; i < 3; i++) {
      await refused(ask(acct.azure, 'unload-chat', q.content), 403, CMKI,
                    'completion while revoked');
      await refused(ask(acct.v1, 'unload-chat', q.content), 403, CMKI,
                    'v1 completion while revoked');
    }
    // The deployment still exists.
    assert.equal((await arm.cs.deployments.get(arm.group, name,
                                                'unload-chat'))
                     .properties.model.name, job.fine_tuned_model);

    await arm.grant(cmk.vault, cmk.principal);
    const back = await poll(async () => {
      try {
        return await ask(acct.azure, 'unload-chat', q.content);
      } catch (e) {
        assert.equal(e.status, 403, `${e.status} ${e.message}`);
        return false;
      }
    }, 5000, 100);
    assert.notEqual(back, null, 'still refused 5 s after restoring');
    assert.equal(norm(back.value.choices[0].message.content),
                 norm(examples[0].messages[2].content));
    await assertAnswers(acct.azure, 'unload-chat', examples);
    assert.equal((await download(acct, file.id)).status, 200);
  });
});

// ---- a server whose external trainer is slow, one job at a time ----

describe('with a slow external trainer and one job at a time', () => {
  const SLOW = 'slow-trainer-1';
  const env = {...trainerEnv('--step-delay-ms', '200'),
               ATREST_TRAINING_EXTERNAL_TRAINER_MODEL: SLOW,
               ATREST_TRAINING_MAX_CONCURRENT_JOBS: '1'};
  // 20 examples, batch size 1, 10 epochs: 200 steps of 200 ms, far longer
  // than any of these tests lets a slow job run.
  const slowJob = {model: SLOW,
                   hyperparameters: {n_epochs: 10, batch_size: 1}};
  const examples = TRAINING.slice(0, 20);
  let slow;
  let slowArm;
  let queued;  // {acct, cmk, model} of the CMK account of the queued test.

  before(async () => {
    slow = await startServer({env});
    slowArm = await new Arm(slow, {group: 'rg-ft-slow'}).init();
  });
  after(async () => { await slow?.stop(); });

  async function restart(signal) {
    const code = await slow.stop(signal);
    if (signal === 'SIGTERM') assert.equal(code, 0);
    slow = await startServer({env, dataDir: slow.dataDir, port: slow.port});
    slowArm.server = slow;
  }

  test('cancel a running job and a queued one', async () => {
    const acct = await newAccount(slowArm, slow, 'ft-cancel',
                                  {identity: false});
    // The external trainer is offered under the configured model id.
    const ids = (await acct.azure.models.list()).data.map((m) => m.id);
    assert.ok(ids.includes(SLOW) && ids.includes(BASE), `${ids}`);
    assert.ok(!ids.includes(EXTERNAL), `${ids}`);
    const file = await uploadTraining(acct, examples);
    const a = await acct.azure.fineTuning.jobs.create({
      ...slowJob, training_file: file.id});
    await waitTraining(acct, a.id);
    const b = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: file.id});
    await sleep(300);
    assert.equal((await acct.azure.fineTuning.jobs.retrieve(b.id)).status,
                 'pending', 'one job at a time');
    // A running job cannot be deleted.
    const del = await raw(acct, dated(`fine_tuning/jobs/${a.id}`),
                          {method: 'DELETE'});
    assert.ok([400, 409].includes(del.status), `${del.status} ${del.text}`);
    assert.equal(del.json?.error?.code, 'unexpectedEntityState', del.text);

    const cb = await acct.azure.fineTuning.jobs.cancel(b.id);
    assert.equal(cb.status, 'cancelled');
    // Resolved once started: the trainer's choices, no "auto" left.
    const running = await acct.azure.fineTuning.jobs.retrieve(a.id);
    assert.equal(running.hyperparameters.n_epochs, 10);
    assert.equal(running.hyperparameters.batch_size, 1);
    assert.ok(running.hyperparameters.learning_rate_multiplier > 0,
              JSON.stringify(running.hyperparameters));
    const ca = await acct.azure.fineTuning.jobs.cancel(a.id);
    assert.equal(ca.status, 'cancelled', JSON.stringify(ca));
    assert.equal(ca.fine_tuned_model, null);
    assert.ok(!ca.result_files?.length, JSON.stringify(ca));
    assert.ok(ca.finished_at >= ca.created_at, JSON.stringify(ca));
    for (const id of [a.id, b.id]) {
      const events = await allEvents(acct, id);
      assert.match(events[0].message, /cancel/i, JSON.stringify(events[0]));
    }
    // The trainer stopped: no step after the cancellation.
    const steps = (await allEvents(acct, a.id))
                      .filter((e) => e.type === 'metrics').length;
    await sleep(800);
    assert.equal((await allEvents(acct, a.id))
                     .filter((e) => e.type === 'metrics').length, steps);
    assert.equal((await acct.azure.fineTuning.jobs.retrieve(a.id)).status,
                 'cancelled');
    const models = (await acct.azure.models.list()).data.map((m) => m.id);
    assert.deepEqual(models.filter((m) => m.includes('.ft-')), []);
    await refused(acct.azure.fineTuning.jobs.cancel(a.id), 400,
                  'unexpectedEntityState', 'cancel twice');
    // Cancelled jobs may be deleted; the queue moves on.
    const r = await raw(acct, dated(`fine_tuning/jobs/${a.id}`),
                        {method: 'DELETE'});
    assert.equal(r.status, 204, r.text);
    await refused(acct.azure.fineTuning.jobs.retrieve(a.id), 404, undefined,
                  'deleted job');
    const c = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: file.id});
    await waitSucceeded(acct, c.id, 20000);
  });

  test('a queued job whose key is revoked before it starts fails with ' +
       'CustomerManagedKeyInaccessible', async () => {
    const busy = await newAccount(slowArm, slow, 'ft-busy',
                                  {identity: false});
    const acct = await newAccount(slowArm, slow, 'ft-queued');
    const cmk = await slowArm.enableCmk('ft-queued', 'kvft-queued');
    const busyFile = await uploadTraining(busy, examples);
    const trainBytes = jsonl(examples);
    const file = await uploadTraining(acct, examples);
    const a = await busy.azure.fineTuning.jobs.create({
      ...slowJob, training_file: busyFile.id});
    await waitTraining(busy, a.id);
    const b = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: file.id});
    assert.equal(b.status, 'pending');

    await slowArm.revoke(cmk.vault, cmk.principal);
    await waitRefused(acct, file.id);
    assert.equal((await acct.azure.fineTuning.jobs.retrieve(b.id)).status,
                 'pending');
    await busy.azure.fineTuning.jobs.cancel(a.id);
    const failed = await waitJob(acct, b.id, TERMINAL, 20000);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.equal(failed.error?.code, CMKI, JSON.stringify(failed.error));
    assert.ok(failed.error.message?.length > 0);
    assert.ok('param' in failed.error, JSON.stringify(failed.error));
    assert.equal(failed.fine_tuned_model, null);
    const events = await allEvents(acct, b.id);
    assert.equal(events[0].level, 'error', JSON.stringify(events[0]));
    assert.equal(events.filter((e) => e.type === 'metrics').length, 0);

    await slowArm.grant(cmk.vault, cmk.principal);
    await waitReadable(acct, file.id, trainBytes);
    const c = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: file.id});
    const done = await waitSucceeded(acct, c.id, 20000);
    queued = {acct, cmk, model: done.fine_tuned_model};
  });

  test('a queued job whose training file is deleted before it starts fails ' +
       'with a clear error', async () => {
    const busy = clientsFor(slow, 'ft-busy', (await slowArm.cs.accounts
        .listKeys(slowArm.group, 'ft-busy')).key1);
    const busyFile = (await busy.azure.files.list()).data[0];
    const a = await busy.azure.fineTuning.jobs.create({
      ...slowJob, training_file: busyFile.id});
    await waitTraining(busy, a.id);
    const acct = queued.acct;
    const file = await uploadTraining(acct, examples, 'doomed.jsonl');
    const b = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: file.id});
    await acct.azure.files.delete(file.id);
    await busy.azure.fineTuning.jobs.cancel(a.id);
    const failed = await waitJob(acct, b.id, TERMINAL, 20000);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.ok(failed.error?.code && failed.error.code !== 'internal_error',
              JSON.stringify(failed.error));
    assert.ok(failed.error.message.includes(file.id),
              JSON.stringify(failed.error));
  });

  test('a running job whose key is revoked fails at its next checkpoint',
       async () => {
    const acct = await newAccount(slowArm, slow, 'ft-running');
    const cmk = await slowArm.enableCmk('ft-running', 'kvft-running');
    const file = await uploadTraining(acct, examples);
    const a = await acct.azure.fineTuning.jobs.create({
      ...slowJob, training_file: file.id});
    await waitTraining(acct, a.id);
    await slowArm.revoke(cmk.vault, cmk.principal);
    await waitRefused(acct, file.id);
    // An epoch is 20 steps of 200 ms: its checkpoint comes within 5 s.
    const failed = await waitJob(acct, a.id, TERMINAL, 10000);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.equal(failed.error?.code, CMKI, JSON.stringify(failed.error));
    assert.equal(failed.fine_tuned_model, null);
    const events = await allEvents(acct, a.id);
    assert.equal(events[0].level, 'error', JSON.stringify(events[0]));
    // The trainer was stopped: no step after the failure.
    const steps = events.filter((e) => e.type === 'metrics').length;
    await sleep(800);
    assert.equal((await allEvents(acct, a.id))
                     .filter((e) => e.type === 'metrics').length, steps);
    await slowArm.grant(cmk.vault, cmk.principal);
    await waitReadable(acct, file.id, jsonl(examples));
  });

  let restartAcct;
  let restartFile;
  const restartBaseline = new Map();

  test('a restart fails the running job with job_interrupted and runs the ' +
       'pending one', async () => {
    let acct = await newAccount(slowArm, slow, 'ft-restart',
                                {identity: false});
    const file = await uploadTraining(acct, examples);
    restartFile = file;
    const a = await acct.azure.fineTuning.jobs.create({
      ...slowJob, training_file: file.id});
    await waitTraining(acct, a.id);
    const b = await acct.azure.fineTuning.jobs.create({
      model: BASE, training_file: file.id, hyperparameters: {n_epochs: 2}});
    assert.equal(b.status, 'pending');

    await restart('SIGTERM');
    acct = clientsFor(slow, acct.name, acct.key);
    const interrupted = await acct.azure.fineTuning.jobs.retrieve(a.id);
    assert.equal(interrupted.status, 'failed', JSON.stringify(interrupted));
    assert.equal(interrupted.error?.code, 'job_interrupted',
                 JSON.stringify(interrupted.error));
    assert.ok(interrupted.error.message?.length > 0);
    assert.ok(interrupted.finished_at >= interrupted.created_at);
    assert.equal(interrupted.fine_tuned_model, null);
    const events = await allEvents(acct, a.id);
    assert.equal(events[0].level, 'error', JSON.stringify(events[0]));
    assert.ok(events.some((e) => e.type === 'metrics'));

    const done = await waitSucceeded(acct, b.id, 20000);
    await deploy(slowArm, 'ft-restart', 'after-restart',
                 done.fine_tuned_model);
    const out = await assertAnswers(acct.azure, 'after-restart', examples);
    out.slice(0, 8).forEach((c, i) => restartBaseline.set(
        examples[i].messages[1].content, c.choices[0].message.content));
    restartAcct = acct;
  });

  test('after a crash (SIGKILL) too; deployments answer after the restart',
       async () => {
    assert.ok(restartAcct && restartFile, 'the previous test set up');
    let acct = restartAcct;
    const a = await acct.azure.fineTuning.jobs.create({
      ...slowJob, training_file: restartFile.id});
    await waitTraining(acct, a.id);
    await restart('SIGKILL');
    acct = clientsFor(slow, acct.name, acct.key);
    const interrupted = await acct.azure.fineTuning.jobs.retrieve(a.id);
    assert.equal(interrupted.status, 'failed', JSON.stringify(interrupted));
    assert.equal(interrupted.error?.code, 'job_interrupted');
    assert.ok(interrupted.error.message?.length > 0);
    // The deployment made before the crash is loaded again.
    await assertSameAnswers(acct.azure, 'after-restart', restartBaseline);
  });

  test('a restart while the key is revoked: the deployment loads once ' +
       'access is back', async () => {
    assert.ok(queued, 'the queued-job test set up');
    const {cmk, model} = queued;
    const q = examples[3].messages[1].content;
    await deploy(slowArm, 'ft-queued', 'cmk-chat', model);
    const before = (await ask(queued.acct.azure, 'cmk-chat', q))
                       .choices[0].message.content;
    await slowArm.revoke(cmk.vault, cmk.principal);
    await waitRefused(queued.acct, (await queued.acct.azure.files.list())
                          .data.find((f) => f.purpose === 'fine-tune').id);
    await restart('SIGTERM');
    const acct = clientsFor(slow, 'ft-queued', queued.acct.key);
    await refused(ask(acct.azure, 'cmk-chat', q), 403, CMKI,
                  'completion of a deployment that could not load');
    await slowArm.grant(cmk.vault, cmk.principal);
    const back = await poll(async () => {
      try {
        return await ask(acct.azure, 'cmk-chat', q);
      } catch (e) {
        assert.equal(e.status, 403, `${e.status} ${e.message}`);
        return false;
      }
    }, 5000, 100);
    assert.notEqual(back, null, 'still refused 5 s after restoring');
    assert.equal(back.value.choices[0].message.content, before);
  });
});
