// The official `openai` npm client, unchanged, against a real lingxi serving the test model.
// Run by ctest with LINGXI_BINARY in the environment; the model is made by `lingxi make-test-model`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const dir = mkdtempSync(join(tmpdir(), 'lingxi-openai-'));
const model = join(dir, 'tiny-chat.gguf');

let lingxi;
let client;
let base;

before(async () => {
  const made = spawnSync(process.env.LINGXI_BINARY, ['make-test-model', model], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  lingxi = spawn(process.env.LINGXI_BINARY, ['serve', '--port', '0', '--model', model,
    '--threads', '2', '--set', 'model.context=512'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let log = '';
    const onData = (d) => {
      log += d;
      const m = log.match(/lingxi listening.*port=(\d+)/);
      if (m) resolve(Number(m[1]));
    };
    lingxi.stdout.on('data', onData);
    lingxi.stderr.on('data', onData);
    lingxi.on('exit', (code) => reject(new Error(`lingxi exited ${code}: ${log}`)));
  });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${base}/ready`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'not-needed' });
});

after(() => {
  lingxi?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('completes a chat', async () => {
  const r = await client.chat.completions.create({
    model: 'tiny-chat', messages: [{ role: 'user', content: 'Hello' }], temperature: 0, max_tokens: 8,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.usage.completion_tokens, 8);
});

test('streams a chat to the end', async () => {
  const stream = await client.chat.completions.create({
    model: 'default', messages: [{ role: 'user', content: 'Stream' }], temperature: 0, max_tokens: 6, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta?.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 6);
  assert.ok(text.length > 0);
});

test('aborts a stream midway and the server cancels it', async () => {
  const metrics = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = text.match(/lingxi_engine_requests_total\{finish="cancelled",model="tiny-chat"\} (\d+)/);
    return m ? Number(m[1]) : 0;
  };
  const before = await metrics();
  const controller = new AbortController();
  const stream = await client.chat.completions.create({
    model: 'tiny-chat', messages: [{ role: 'user', content: 'Long answer' }], temperature: 0, max_tokens: 400,
    stream: true, ignore_eos: true,
  }, { signal: controller.signal });
  let chunks = 0;
  try {
    for await (const _ of stream) {
      if (++chunks === 3) controller.abort();
    }
  } catch (e) {
    assert.equal(e.name, 'APIUserAbortError');
  }
  assert.ok(chunks < 400, `the stream stopped early (${chunks} chunks)`);
  // The server notices the closed connection and frees the sequence.
  let after = before;
  for (let i = 0; i < 100 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 20));
    after = await metrics();
  }
  assert.equal(after, before + 1);
  const r = await client.chat.completions.create({
    model: 'tiny-chat', messages: [{ role: 'user', content: 'after' }], temperature: 0, max_tokens: 2,
  });
  assert.equal(r.usage.completion_tokens, 2);
});

test('lists models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['tiny-chat']);
});

test('creates embeddings', async () => {
  const r = await client.embeddings.create({ model: 'tiny-chat', input: ['one', 'two'] });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, 64);
  const norm = Math.sqrt(r.data[0].embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-3);
});
