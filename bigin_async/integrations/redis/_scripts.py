"""The Lua scripts that keep the org's shared limits in Redis, each one atomic, each on one slot.

Every script reads Redis's own clock (``TIME``, in milliseconds) and nothing else tells the time,
so processes whose clocks disagree still agree on every window. Every key a script touches comes
in ``KEYS`` (one family, one Redis Cluster hash slot), every key gets a time to live (a day for the
credits, minutes for the rest) and every sorted set or list is trimmed as it is written, so an
abandoned family disappears and none grows without bound.

Numbers with fractions go back to Python as strings (Redis would drop the fraction of a Lua
number); stored times are formatted with three decimals, so a compare-and-set of a stored time
compares the very string Redis holds (a per-minute list entry an answer lowered has four: it is
never taken for the send time it was).
"""

from __future__ import annotations

from bigin_async.integrations.redis._backend import Script

__all__ = ["ACQUIRE", "ACQUIRE_PACE", "COOLDOWN", "FINISH", "GIVE_BACK", "LEAVE", "PACE", "RENEW"]

# Helpers every script starts with: the time, a stored number. Gate and limiter keys live for
# ``KEEP`` past their last write (longer than any lease a call holds: a call's timeout plus 5 s).
_PRELUDE = """
local KEEP = 3600000
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function fmt(x) return string.format('%.3f', x) end
local function arg(v) if v == nil or v == '' then return nil end return tonumber(v) end
-- A key just written lives ``ttl`` ms more. Most writes find it with plenty left and only read
-- its time to live: it is set again only when the key has none (just made) or less than ``ttl``
-- minus a slack (half of ``ttl``, at most KEEP), so what a key holds outlives its last write
-- by at least ``ttl - KEEP`` (the figures' own life) and a key that nobody writes still expires.
local function keep(key, ttl)
  if redis.call('PTTL', key) < ttl - math.min(ttl / 2, KEEP) then
    redis.call('PEXPIRE', key, math.ceil(ttl))
  end
end
"""

# The daily credits (DailyBudget's rules): 60 s buckets over 24 h in ``last`` (bucket id -> its last
# spend) and ``credits`` (bucket id -> credits), the running figures in ``state`` (spent: the 24 h
# count; sremaining/sreset: the server's count and when it stops counting; since: spent since that
# count; inflight: credits of calls sent and not answered), the calls in flight in ``flight``
# (member "call|credits" -> when its holder's lease ends: a dead process's leave by then).
_BUDGET = """
local DAY = 86400000
local BUCKET = 60000
local KEEP_BUDGET = DAY + 3600000
local function b_keys(first)
  return {last = KEYS[first], credits = KEYS[first + 1], state = KEYS[first + 2], flight = KEYS[first + 3]}
end
local function b_take(b, field, delta)
  local value = tonumber(redis.call('HINCRBY', b.state, field, -delta))
  if value < 0 then redis.call('HSET', b.state, field, 0) end
end
local function b_expire(b, now)
  local old = redis.call('ZRANGEBYSCORE', b.last, '-inf', now - DAY, 'LIMIT', 0, 200)
  local gone = 0
  for _, id in ipairs(old) do
    gone = gone + (tonumber(redis.call('HGET', b.credits, id)) or 0)
    redis.call('HDEL', b.credits, id)
    redis.call('ZREM', b.last, id)
  end
  if gone > 0 then b_take(b, 'spent', gone) end
  local dead = redis.call('ZRANGEBYSCORE', b.flight, '-inf', now, 'LIMIT', 0, 200)
  local lost = 0
  for _, member in ipairs(dead) do
    lost = lost + (tonumber(string.match(member, '|(%d+)$')) or 0)
    redis.call('ZREM', b.flight, member)
  end
  if lost > 0 then b_take(b, 'inflight', lost) end
end
-- What is left today (nil: no limit known), the 24 h count, and when the server's count resets.
local function b_remaining(b, now, limit)
  local st = redis.call('HMGET', b.state, 'spent', 'sremaining', 'sreset', 'since')
  local spent = tonumber(st[1]) or 0
  local best = nil
  if limit then best = limit - spent end
  local server, reset = tonumber(st[2]), tonumber(st[3])
  if server then
    if reset and now >= reset then
      redis.call('HDEL', b.state, 'sremaining', 'sreset')
      reset = nil
    else
      local left = server - (tonumber(st[4]) or 0)
      if best == nil or left < best then best = left end
    end
  end
  return best, spent, reset
end
local function b_resets_in(b, now, reset)
  if reset then return math.max(0, reset - now) end
  local first = redis.call('ZRANGE', b.last, 0, 0, 'WITHSCORES')
  if first[2] then return math.max(0, tonumber(first[2]) + DAY - now) end
  return nil
end
local function b_keep(b)
  for _, key in pairs(b) do keep(key, KEEP_BUDGET) end
end
local function b_figures(b, now, limit)
  local remaining, spent, reset = b_remaining(b, now, limit)
  local resets = b_resets_in(b, now, reset)
  return tostring(spent), remaining and tostring(remaining) or '', resets and fmt(resets) or ''
end
"""

# The latency allowances J (ms) of the processes pacing on these limiters lately: member J, score
# when it lapses (``life`` after that process's last per-minute pace or answered finish). An entry counts
# as the largest of them late, and an answer lowers its entry by the answering process's own J,
# no larger: so a process told a smaller allowance never takes an entry another one lowered for an
# arrival earlier than it could have been, and an entry never outlives the J it was lowered by.
_ALLOWANCES = """
local function j_register(key, own, now, life)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, 'GT', now + life, fmt(own))  -- never shortened by a shorter life
  keep(key, life + KEEP)
end
local function j_largest(key, own, now, life)
  j_register(key, own, now, life)
  local largest = own
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local j = tonumber(member)
    if j and j > largest then largest = j end
  end
  return largest
end
"""

# The limiters (RateLimiter's rule): ``tat`` is the theoretical arrival time of the GCRA, ``sent``
# the last ``limit`` sends, each the latest its arrival can be less J (its send time, or, once
# answered, the answer's time less J: see FINISH), which must span ``window`` before one more goes.
# A per-minute limiter (``heard``) also keeps ``planned``, the sends booked and not yet made
# (caller's lease id -> its booked time): a booking waits until the ``limit``-th latest of the sends
# and the bookings may have arrived ``window`` before it (``l_ahead``), so the time it is given is
# the time it will send and callers go in the order they booked, as RateLimiter's ``_planned``
# keeps them in one process. The real send is checked against ``sent`` alone (``opens``), so the
# cap holds whatever the bookings say, with processes of releases that keep no bookings too.
# Each limiter's stored figures are read once a script (``l_load``, ``l_ahead``).
_LIMITER = """
local function l_load(l)
  if l.before == nil then
    l.before = redis.call('GET', l.tat) or ''
    l.booked = tonumber(l.before) or -math.huge
    l.opens = -math.huge
    l.length = redis.call('LLEN', l.sent)
    if l.length >= l.limit then
      l.opens = tonumber(redis.call('LINDEX', l.sent, -l.limit)) + l.window
    end
  end
  return l
end
-- When one more booking keeps every window within the limit, counting the bookings not yet made
-- as sends at their booked times. Only the ``limit`` latest of each matter, and of the sends only
-- those that can be the ``limit``-th latest of both: with p bookings, the m = limit - p - 1 latest
-- sends are later than it whatever the bookings are, so it is the (limit - m)-th latest of the
-- other sends and the bookings. A booking older than ``window`` cannot share one with a new send
-- (its process died before sending, or sent it late, which ``sent`` has): it is dropped, as is
-- one whose caller holds no lease of the gate any more.
local function l_ahead(l, now)
  l_load(l)
  if not l.heard then return l.opens end
  if l.ahead == nil then
    redis.call('ZREMRANGEBYSCORE', l.planned, '-inf', fmt(now - l.window))
    -- A booking whose caller no longer holds its slot's lease will not be sent: its process died
    -- or lost Redis while it waited (a live waiter renews its lease). It is dropped too.
    local planned = {}
    local found = redis.call('ZRANGE', l.planned, 0, -1, 'WITHSCORES')
    for at = 1, #found, 2 do
      local expiry = tonumber(redis.call('ZSCORE', l.leases, found[at]))
      if expiry and expiry > now then
        table.insert(planned, found[at]); table.insert(planned, found[at + 1])
      else
        redis.call('ZREM', l.planned, found[at])
      end
    end
    while #planned > 2 * l.limit do  -- only the ``limit`` latest matter (ascending: the first go)
      table.remove(planned, 1); table.remove(planned, 1)
    end
    local p = #planned / 2
    local s = math.min(l.length, l.limit)
    if p == 0 then
      l.ahead = l.opens
    elseif s + p < l.limit then
      l.ahead = -math.huge
    else
      local m = math.max(0, l.limit - p - 1)
      local times = {}
      if s > m then
        for _, entry in ipairs(redis.call('LRANGE', l.sent, -s, -(m + 1))) do
          table.insert(times, tonumber(entry))
        end
      end
      for at = 2, #planned, 2 do table.insert(times, tonumber(planned[at])) end
      table.sort(times, function(x, y) return x > y end)
      l.ahead = times[l.limit - m] + l.window
    end
  end
  return l.ahead
end
local function l_earliest(l, now)
  return math.max(now, l_load(l).booked, l_ahead(l, now))
end
-- The bookings of ``id`` on the limiters ``L[from..upto]`` are no longer planned (made or given up).
local function l_unplan(L, from, upto, id)
  for i = from, upto do
    if L[i].heard then redis.call('ZREM', L[i].planned, id) end
  end
end
"""

# The gate: leases (lease id -> expiry), queue (waiter -> ticket), beats (waiter -> heartbeat end),
# the ticket counter. A free slot goes to the waiter whose rank in the queue is below the count of
# free slots: first come, first served across every process; a caller with no ticket takes a free
# slot at once only when nobody is queued. ``g_take`` returns {1, ticket} granted, {0, ticket, rank}
# queued (its heartbeat renewed: a waiter whose process stops asking leaves the queue).
_GATE = """
local function g_take(now, leases, queue, beats, counter, id, limit, lease_ms, beat_ms, ticket)
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  local free = limit - redis.call('ZCARD', leases)
  local waiting = redis.call('ZCARD', queue)
  if waiting == 0 and free > 0 and ticket == '' then  -- nobody queued: the slot is this caller's
    redis.call('ZADD', leases, now + lease_ms, id)
    keep(leases, lease_ms + KEEP)
    return {1, ''}
  end
  if waiting > 0 then  -- waiters whose process stopped asking leave the queue
    local dead = redis.call('ZRANGEBYSCORE', beats, '-inf', now, 'LIMIT', 0, 100)
    for _, waiter in ipairs(dead) do
      redis.call('ZREM', queue, waiter)
      redis.call('ZREM', beats, waiter)
    end
  end
  local number = redis.call('ZSCORE', queue, id)
  if not number then
    -- A waiter that lost its place (its heartbeat ran out) keeps its ticket, unless the counter is
    -- behind it (Redis restarted): a ticket from before would rank it behind every later caller.
    number = arg(ticket)
    local last = tonumber(redis.call('GET', counter))
    if number and (last == nil or number > last) then number = nil end
    if not number then
      number = redis.call('INCR', counter)
      keep(counter, KEEP)
    end
    redis.call('ZADD', queue, number, id)
  end
  local rank = redis.call('ZRANK', queue, id)
  if rank < free then
    redis.call('ZREM', queue, id)
    redis.call('ZREM', beats, id)
    redis.call('ZADD', leases, now + lease_ms, id)
    keep(leases, lease_ms + KEEP)
    return {1, tostring(number)}
  end
  redis.call('ZADD', beats, now + beat_ms, id)
  keep(queue, KEEP)
  keep(beats, KEEP)
  keep(counter, KEEP)  -- the tickets count on while anyone waits: FIFO holds for the whole queue
  return {0, tostring(number), rank}
end
"""

ACQUIRE = Script(
    _PRELUDE
    + _GATE
    + """
-- KEYS: leases, queue, beats, ticket counter
-- ARGV: waiter id, limit, lease ms, heartbeat ms, the waiter's ticket ('' before it has one)
-- Returns {1, ticket} granted, {0, ticket, rank} not yet.
return g_take(now_ms(), KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[2]),
              tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
""",
    name="gate acquire",
)

LEAVE = Script(
    """
-- KEYS: leases, queue, beats; ARGV: id. A lease released, or a waiter that stopped waiting.
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
""",
    name="gate release",
)

RENEW = Script(
    _PRELUDE
    + """
-- KEYS: leases; ARGV: lease id, lease ms. 1: the lease is held until now + lease ms; 0: it was lost.
local now = now_ms()
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if expiry == nil or expiry <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
local until_ms = now + tonumber(ARGV[2])
if until_ms > expiry then redis.call('ZADD', KEYS[1], 'XX', until_ms, ARGV[1]) end
keep(KEYS[1], tonumber(ARGV[2]) + KEEP)
return 1
""",
    name="gate renew",
)

# One send booked and, when its time has come, committed (the body of PACE, also run by ACQUIRE_PACE
# right after the gate, in the same round trip). Its keys start after ``k`` in KEYS and its
# arguments after ``a`` in ARGV:
# KEYS: leases, cooldown, the 4 budget keys, the allowances, then per limiter its tat, sent list and
#   planned bookings
# ARGV: 1 lease id, 2 lease ms while the exchange lasts, 3 max wait ms ('' none), 4 cost,
#   5 daily limit ('' none), 6 min remaining, 7 flight member, 8 limiters already booked, 9 limiters,
#   10 this process's J ms, 11 how long its J counts (ms), then per limiter: interval ms, window ms
#   (W for a per-minute one), limit, 1 if per-minute (its window is W plus the largest J in use)
#   else 0
# The limiters are booked in order, the scarcest first, each at its own earliest time, as the local
# pace does; when one's time is still to come the caller sleeps until it and calls again from the
# next one. Once all are booked and every window has room, the send is committed: the real time
# recorded on each limiter, the credits spent, the lease renewed, all at once.
# Returns {'ok', bucket, spent, remaining, resets_in, sent at}
# | {'wait', ms, booked, [i, before, after]...} | {'cooldown', ms} | {'lost'} | {'late', ms}
# | {'refused', remaining, resets_in}
_SEND = """
local function p_send(now, k, a)
  local leases, id, lease_ms = KEYS[k + 1], ARGV[a + 1], tonumber(ARGV[a + 2])
  local expiry = tonumber(redis.call('ZSCORE', leases, id))
  if expiry == nil or expiry <= now then
    redis.call('ZREM', leases, id)
    return {'lost'}
  end
  local cooldown = tonumber(redis.call('GET', KEYS[k + 2]))
  if cooldown and cooldown > now then return {'cooldown', fmt(cooldown - now)} end
  local max_wait, cost, limit = arg(ARGV[a + 3]), tonumber(ARGV[a + 4]), arg(ARGV[a + 5])
  local min_remaining, member = tonumber(ARGV[a + 6]), ARGV[a + 7]
  local from, n = tonumber(ARGV[a + 8]), tonumber(ARGV[a + 9])
  local L = {}
  local j = nil
  for i = 1, n do
    local at = a + 11 + (i - 1) * 4
    L[i] = {tat = KEYS[k + 5 + 3 * i], sent = KEYS[k + 6 + 3 * i], planned = KEYS[k + 7 + 3 * i],
            leases = leases,
            interval = tonumber(ARGV[at + 1]), window = tonumber(ARGV[at + 2]),
            limit = tonumber(ARGV[at + 3]), heard = ARGV[at + 4] == '1'}
    if L[i].heard then
      if j == nil then j = j_largest(KEYS[k + 7], tonumber(ARGV[a + 10]), now, tonumber(ARGV[a + 11])) end
      L[i].window = L[i].window + j
    end
  end
  if max_wait then
    local start = now
    for i = 1, n do
      local t
      if i > from then t = l_earliest(L[i], now) else t = l_load(L[i]).opens end
      if t > start then start = t end
    end
    if start - now > max_wait then return {'late', fmt(start - now)} end
  end
  local booked = {}
  -- A call that sleeps (on a booking still to come, or on the record of real sends) sends when it
  -- wakes at the earliest: each of its bookings, this round's and the earlier rounds', is planned
  -- for then (GT: never earlier), not for the time that limiter alone gave it. One sent by this
  -- very script never shows among the planned ones.
  local function waiting(ms, upto)
    local reply = {'wait', fmt(ms), upto}
    for _, b in ipairs(booked) do
      table.insert(reply, b[1]); table.insert(reply, b[2]); table.insert(reply, b[3])
    end
    local wake = fmt(now + ms)
    for i = 1, upto do
      local l = L[i]
      if l.heard then
        redis.call('ZADD', l.planned, 'GT', wake, id)
        keep(l.planned, ms + l.window + KEEP)
      end
    end
    return reply
  end
  for i = from + 1, n do
    local l = L[i]
    local start = l_earliest(l, now)
    local tat = math.max(l.booked, start) + l.interval
    local after = fmt(tat)
    redis.call('SET', l.tat, after, 'PX', math.ceil(tat - now + l.window + KEEP))
    table.insert(booked, {i, l.before, after})
    if start > now then return waiting(start - now, i) end
  end
  local opens = -math.huge
  for i = 1, n do opens = math.max(opens, l_load(L[i]).opens) end
  if opens > now then return waiting(opens - now, n) end
  local b = b_keys(k + 3)
  b_expire(b, now)
  local remaining, spent, reset = b_remaining(b, now, limit)
  if remaining ~= nil and remaining - cost < min_remaining then
    for _, booking in ipairs(booked) do  -- nothing is sent: the times booked here go back
      local l = L[booking[1]]
      if booking[2] == '' then redis.call('DEL', l.tat)
      else redis.call('SET', l.tat, booking[2], 'KEEPTTL') end
    end
    l_unplan(L, 1, from, id)  -- and the bookings of this call's earlier rounds
    keep(b.state, KEEP_BUDGET)
    local resets = b_resets_in(b, now, reset)
    return {'refused', tostring(remaining), resets and fmt(resets) or ''}
  end
  local sent_at = fmt(now)
  for i = 1, n do
    local l = L[i]
    redis.call('RPUSH', l.sent, sent_at)
    redis.call('LTRIM', l.sent, -l.limit, -1)
    keep(l.sent, l.window + KEEP)
  end
  l_unplan(L, 1, from, id)  -- made: its earlier rounds' bookings are a send now
  local bucket = nil
  local newest = redis.call('ZREVRANGE', b.last, 0, 0)
  if newest[1] and now - tonumber(newest[1]) < BUCKET then bucket = newest[1] else bucket = sent_at end
  redis.call('ZADD', b.last, now, bucket)
  redis.call('HINCRBY', b.credits, bucket, cost)
  redis.call('HINCRBY', b.state, 'spent', cost)
  redis.call('HINCRBY', b.state, 'since', cost)
  redis.call('HINCRBY', b.state, 'inflight', cost)
  redis.call('ZADD', b.flight, now + lease_ms, member)
  redis.call('ZADD', leases, 'XX', math.max(expiry, now + lease_ms), id)
  keep(leases, lease_ms + KEEP)
  b_keep(b)
  local resets = b_resets_in(b, now, reset)
  return {'ok', bucket, tostring(spent + cost), remaining and tostring(remaining - cost) or '',
          resets and fmt(resets) or '', sent_at}
end
"""

PACE = Script(
    _PRELUDE
    + _BUDGET
    + _ALLOWANCES
    + _LIMITER
    + _SEND
    + """
-- KEYS and ARGV: those of p_send (above). A call that holds its slot books and commits its send.
return p_send(now_ms(), 0, 0)
""",
    name="pace",
)

ACQUIRE_PACE = Script(
    _PRELUDE
    + _BUDGET
    + _ALLOWANCES
    + _LIMITER
    + _GATE
    + _SEND
    + """
-- KEYS: queue, beats, ticket counter, then p_send's (leases first)
-- ARGV: limit, lease ms, heartbeat ms, then p_send's (the lease id first)
-- A call's first look: a free slot taken when nobody is queued (as ACQUIRE's) and its send booked
-- and committed in the same round trip, or {'queued', ticket, rank}: the caller waits its turn.
local now = now_ms()
local got = g_take(now, KEYS[4], KEYS[1], KEYS[2], KEYS[3], ARGV[4], tonumber(ARGV[1]),
                   tonumber(ARGV[2]), tonumber(ARGV[3]), '')
if got[1] == 0 then return {'queued', got[2], got[3]} end
return p_send(now, 3, 3)
""",
    name="gate acquire and pace",
)

GIVE_BACK = Script(
    """
-- KEYS: per limiter booked its tat and its planned bookings; ARGV: 1 the caller's lease id, then
-- per limiter the tat's value before and after the booking.
-- A booked time is undone only while it is still the last one (nobody booked after it); the
-- booking leaves the planned ones in any case (a limiter that keeps none has none to leave).
local id = ARGV[1]
for i = 1, #KEYS / 2 do
  local key, before, after = KEYS[2 * i - 1], ARGV[2 * i], ARGV[2 * i + 1]
  if redis.call('GET', key) == after then
    if before == '' then redis.call('DEL', key) else redis.call('SET', key, before, 'KEEPTTL') end
  end
  redis.call('ZREM', KEYS[2 * i], id)
end
return 1
""",
    name="give back",
)

FINISH = Script(
    _PRELUDE
    + _BUDGET
    + _ALLOWANCES
    + """
-- KEYS: leases, the 4 budget keys, then (only when it was answered) the allowances and the sent
--   lists of the per-minute limiters that paced it
-- ARGV: 1 lease id to release ('' none), 2 flight member ('' none), 3 cost, 4 bucket to refund from
--   ('' no refund; '?' a send whose reply was lost to its caller's cancel: refunded from the
--   newest bucket if, and only if, its flight member shows it was committed), 5 the server's
--   remaining count ('' none), 6 its reset in seconds ('' none), 7 daily limit ('' none),
--   8 its send's entry in those lists ('' none: not answered), 9 this process's J ms, 10 how long
--   its J counts (ms)
-- The exchange ended: the slot released, the credits no longer in flight, given back when Zoho
-- never counted the call, Zoho's own count adopted, and an answered send's entry lowered (below).
-- Returns {spent, remaining, resets_in}.
local now = now_ms()
-- A list entry e says the send arrived by e + J at the latest (PACE lets one more go once the N-th
-- last entry is W + J old; J the largest allowance in use, see _ALLOWANCES). An answer says it had
-- arrived by now: its entry becomes now - J (this process's J, no larger than the one read). That
-- entry is found by its text (the send time PACE pushed, 3 decimals); a lowered one is written with
-- 4, so it is never taken for a send again. It never goes below the entry before it: the list stays
-- ascending, so the N-th last entry is the N-th latest, for this release's scripts and for those of
-- releases that never lower (which read the same lists).
local entry = ARGV[8]
if entry ~= nil and entry ~= '' then
  local sent = tonumber(entry)
  -- Lowered by this process's own J, which it keeps registered for 2 (W + J) from now, longer than
  -- the entry can matter (W): while it is, every reader counts a J at least as large. (Lowered by
  -- a larger J of another process, the entry would outlive that J's registration.)
  local own = tonumber(ARGV[9])
  j_register(KEYS[6], own, now, tonumber(ARGV[10]))
  local lowered = math.max(now, sent) - own
  if lowered < sent then
    for i = 7, #KEYS do
      local at = redis.call('LPOS', KEYS[i], entry, 'RANK', -1)
      if at then
        local floor = lowered
        if at > 0 then
          local previous = tonumber(redis.call('LINDEX', KEYS[i], at - 1))
          if previous and previous > floor then floor = previous end
        end
        redis.call('LSET', KEYS[i], at, string.format('%.4f', floor))
      end
    end
  end
end
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
local b = b_keys(2)
local cost = tonumber(ARGV[3])
b_expire(b, now)
local committed = ARGV[2] ~= '' and redis.call('ZREM', b.flight, ARGV[2]) == 1
if committed then b_take(b, 'inflight', cost) end
local refund = ARGV[4]
if refund == '?' then
  refund = ''
  if committed then refund = redis.call('ZREVRANGE', b.last, 0, 0)[1] or '-' end
end
if refund ~= '' then
  local have = tonumber(redis.call('HGET', b.credits, refund))
  if have then
    local taken = math.min(cost, have)
    redis.call('HINCRBY', b.credits, refund, -taken)
    b_take(b, 'spent', taken)
  end
  b_take(b, 'since', cost)
end
local server = arg(ARGV[5])
if server then
  local reset = arg(ARGV[6])
  local inflight = tonumber(redis.call('HGET', b.state, 'inflight')) or 0
  if reset == nil or reset * 1000 > DAY then reset = DAY else reset = reset * 1000 end
  redis.call('HSET', b.state, 'sremaining', server, 'since', inflight, 'sreset', fmt(now + reset))
end
keep(b.state, KEEP_BUDGET)  -- the one budget key this script may add to (its other writes take away)
local spent, left, resets = b_figures(b, now, arg(ARGV[7]))
return {spent, left, resets}
""",
    name="finish",
)

COOLDOWN = Script(
    _PRELUDE
    + """
-- KEYS: cooldown; ARGV: ms. Nobody sends until then; a cooldown is only ever extended.
local now = now_ms()
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
local until_ms = now + ms
if current == nil or until_ms > current then
  redis.call('SET', KEYS[1], fmt(until_ms), 'PX', math.max(1, math.ceil(ms)))
  return fmt(ms)
end
return fmt(current - now)
""",
    name="cooldown",
)
