// The globals a code-mode program sees, evaluated in a fresh QuickJS context before the program.
// The engine has no file system, network, module loader or Python callables: every way out goes
// through the outbox below, which the Python driver drains between job runs. Values recorded in
// an earlier run of the same execution (clock readings, the random seed) arrive in __replay, so
// a resumed program sees the same time and randomness it saw before it paused.
(function (replay, limits) {
  "use strict";
  const g = globalThis;
  // Captured now: the program may replace JSON.stringify or Array methods, and what the
  // driver hands to Python must not change with it.
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const RealDate = Date;
  const clock = replay.clock.slice();
  const newClock = [];
  let clockIndex = 0;
  let outputBytes = 0;
  let outputCapped = false;
  const logs = [];
  const emitted = [];
  const outbox = [];
  const pending = new Map();
  let nextCall = 0;

  function now() {
    if (clockIndex < clock.length) return clock[clockIndex++];
    clockIndex++;
    const value = RealDate.now();
    newClock.push(value);
    return value;
  }

  // Replace Date so that `new Date()` and `Date.now()` read the recorded clock.
  function RecordedDate(...args) {
    if (!new.target) return new RealDate(now()).toString();
    return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
  }
  RecordedDate.prototype = RealDate.prototype;
  RecordedDate.now = now;
  RecordedDate.parse = RealDate.parse;
  RecordedDate.UTC = RealDate.UTC;
  Object.defineProperty(RealDate.prototype, "constructor", { value: RecordedDate });
  g.Date = RecordedDate;

  // Math.random from a seeded generator (mulberry32): the seed is recorded once per execution.
  let seed = replay.seed >>> 0;
  Math.random = function random() {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const origin = replay.origin;
  g.performance = { now: () => now() - origin, timeOrigin: origin };

  // Observing the garbage collector would make a replay diverge.
  delete g.WeakRef;
  delete g.FinalizationRegistry;

  function refuse(name, hint) {
    return function () {
      throw new TypeError(`${name} is not available in code mode: ${hint}`);
    };
  }
  g.fetch = refuse("fetch", "call APIs through tools.* (tools.search() finds them)");
  g.require = refuse("require", "there are no modules; call tools.* for I/O");
  g.XMLHttpRequest = refuse("XMLHttpRequest", "call APIs through tools.*");
  g.WebSocket = refuse("WebSocket", "call APIs through tools.*");
  const noTimers = refuse("timers", "there is no event loop to wait on; await tools.* calls");
  g.setTimeout = noTimers;
  g.setInterval = noTimers;

  function show(value) {
    if (typeof value === "string") return value;
    if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
    if (value === undefined || typeof value === "function" || typeof value === "symbol") {
      return String(value);
    }
    try {
      const text = stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2);
      return text === undefined ? String(value) : text;
    } catch (_e) {
      return String(value);
    }
  }

  function spend(text) {
    outputBytes += text.length;
    if (outputBytes <= limits.outputChars) return true;
    if (!outputCapped) {
      outputCapped = true;
      logs.push(`[output capped at ${limits.outputChars} characters; later output dropped]`);
    }
    return false;
  }

  function logger(level) {
    return function (...args) {
      const line = (level ? `[${level}] ` : "") + args.map(show).join(" ");
      if (spend(line)) logs.push(line);
    };
  }
  g.console = {
    log: logger(""), info: logger(""), debug: logger("debug"),
    warn: logger("warn"), error: logger("error"),
  };

  g.emit = function emit(value) {
    let item = value;
    if (typeof value !== "string") {
      const text = stringify(value);
      if (text === undefined) throw new TypeError("emit() needs a string or a JSON value");
      item = parse(text);
    }
    if (spend(typeof item === "string" ? item : stringify(item))) emitted.push(item);
    return undefined;
  };

  function hostCall(path, args) {
    let text;
    try {
      text = args === undefined ? "{}" : stringify(args);
    } catch (e) {
      return Promise.reject(new TypeError(`tools.${path}: arguments must be JSON: ${e.message}`));
    }
    if (text === undefined) {
      return Promise.reject(new TypeError(`tools.${path}: arguments must be a JSON object`));
    }
    const id = nextCall++;
    outbox.push({ id, path, args: text });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  const ENUMERATE =
    "the tools object cannot be enumerated (it is a lazy proxy over the whole catalog): " +
    "use tools.search({ query }) to find tools, or tools.executor.coreTools.connections.list({})";

  function toolsProxy(path) {
    const target = function () {};
    return new Proxy(target, {
      get(_t, prop) {
        if (prop === Symbol.toPrimitive) return () => `tools${path ? "." + path : ""}`;
        if (typeof prop === "symbol") return undefined;
        // `await tools.x` must not look like a thenable, or it would call x.then.
        if (prop === "then") return undefined;
        if (prop === "toJSON") throw new TypeError(ENUMERATE);
        const name = path ? `${path}.${prop}` : String(prop).replace(/^tools\./, "");
        return toolsProxy(name);
      },
      apply(_t, _this, args) {
        if (!path) throw new TypeError("tools is not a function: call tools.<path>(args)");
        if (args.length > 1) {
          return Promise.reject(new TypeError(`tools.${path} takes one argument object`));
        }
        return hostCall(path, args[0]);
      },
      ownKeys() { throw new TypeError(ENUMERATE); },
      has() { throw new TypeError(ENUMERATE); },
      getOwnPropertyDescriptor() { throw new TypeError(ENUMERATE); },
      set() { throw new TypeError("tools is read-only"); },
      defineProperty() { throw new TypeError("tools is read-only"); },
      deleteProperty() { throw new TypeError("tools is read-only"); },
    });
  }
  Object.defineProperty(g, "tools", { value: toolsProxy(""), writable: false, configurable: false });

  // The driver's side. Python takes these functions out of __driver and deletes the global
  // before the program is evaluated, so the program cannot reach them.
  const state = { started: false, done: false, value: undefined, error: undefined };
  const driver = Object.freeze({
    drain() {
      const out = [];
      for (let i = 0; i < outbox.length; i++) out[i] = outbox[i];
      outbox.length = 0;
      return stringify(out);
    },
    settle(id, text, isError) {
      const entry = pending.get(id);
      if (!entry) return;
      pending.delete(id);
      if (isError) entry.reject(new Error(text));
      else entry.resolve(parse(text));
    },
    start(program) {
      state.started = true;
      program().then(
        (value) => { state.done = true; state.value = value; },
        (error) => { state.done = true; state.error = error === undefined ? null : error; },
      );
    },
    done() {
      return state.done;
    },
    result() {
      let value = null;
      let error = null;
      if (state.error !== undefined) {
        const e = state.error;
        if (e instanceof Error) {
          const stack = typeof e.stack === "string" ? e.stack : "";
          error = `${e.name}: ${e.message}` + (stack ? `\n${stack}` : "");
        } else {
          error = `Uncaught ${show(e)}`;
        }
      } else if (state.value !== undefined) {
        try {
          const text = stringify(state.value,
            (_k, v) => (typeof v === "bigint" ? String(v) : v));
          value = text === undefined ? null : parse(text);
        } catch (e) {
          error = `the returned value is not JSON: ${e.message}`;
        }
      }
      return stringify({ value, error, logs, emitted, clock: newClock });
    },
    records() {
      return stringify({ clock: newClock });
    },
  });
  Object.defineProperty(g, "__driver", { value: driver, enumerable: false, configurable: true });
})(JSON.parse(globalThis.__replayText), JSON.parse(globalThis.__limitsText));
delete globalThis.__replayText;
delete globalThis.__limitsText;
