// SPDX-License-Identifier: MIT
#include "server/hub.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "server/net.hpp"

namespace taskwire {

struct hub::state {
  state(net::io_context& ioc, client_gone_fn fn)
      : strand(net::make_strand(ioc)), gone(std::move(fn)) {}

  void drain(const std::shared_ptr<task>& t);
  void drain_ready();
  void post_ready_locked(std::unique_lock<std::mutex>& lock);

  net::strand<net::io_context::executor_type> strand;
  client_gone_fn gone;
  struct member {
    const subscriber* id;
    std::weak_ptr<subscriber> session;
  };
  std::unordered_map<std::string, std::vector<member>> clients;
  std::unordered_map<std::uint64_t, std::vector<std::weak_ptr<subscriber>>> subscribers;

  // Tasks with events to deliver (from worker threads) and subscription changes (from sessions),
  // handed over under ready_mu, the only state here that the strand does not own. One post to
  // the strand covers everything handed over before it runs, so many busy tasks cost one
  // hand-off, not one each. Subscriptions travel the same way so that a task's first drain can
  // never overtake its subscription.
  struct subscription_change {
    std::uint64_t key;
    std::weak_ptr<subscriber> session;
    bool forget = false;  // the task was never queued: drop its subscriptions
  };
  std::mutex ready_mu;
  std::vector<subscription_change> changes;
  std::vector<std::shared_ptr<task>> ready;
  bool ready_posted = false;
  std::vector<subscription_change> taking_changes;  // the strand's own, reused
  std::vector<std::shared_ptr<task>> taking;        // the strand's own, reused
};

hub::hub(net::io_context& ioc, client_gone_fn on_client_gone)
    : s_(std::make_unique<state>(ioc, std::move(on_client_gone))) {}

hub::~hub() = default;

void hub::join(const std::shared_ptr<subscriber>& sub) {
  connections_.fetch_add(1);
  net::post(s_->strand, [st = s_.get(), sub] {
    st->clients[sub->client_id()].push_back({sub.get(), sub});
  });
}

void hub::leave(const subscriber* sub, const std::string& client_id) {
  connections_.fetch_sub(1);
  net::post(s_->strand, [st = s_.get(), sub, client_id] {
    auto it = st->clients.find(client_id);
    if (it == st->clients.end()) return;
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& m) { return m.id == sub; }),
            v.end());
    if (v.empty()) {
      st->clients.erase(it);
      if (st->gone) st->gone(client_id);
    }
  });
}

void hub::subscribe(const std::shared_ptr<task>& t, std::weak_ptr<subscriber> sub) {
  std::unique_lock lock(s_->ready_mu);
  s_->changes.push_back({t->key(), std::move(sub)});
  s_->post_ready_locked(lock);
}

void hub::forget(const std::shared_ptr<task>& t) {
  std::unique_lock lock(s_->ready_mu);
  s_->changes.push_back({t->key(), {}, true});
  s_->post_ready_locked(lock);
}

void hub::resume(const std::shared_ptr<task>& t, std::weak_ptr<subscriber> sub,
                 std::uint64_t after_seq, std::shared_ptr<const std::string> ok) {
  net::post(s_->strand, [st = s_.get(), t, sub = std::move(sub), after_seq, ok = std::move(ok)] {
    auto session = sub.lock();
    if (!session) return;
    // Events still pending in the task are retained already: they are in this replay, and the
    // drain that follows delivers them again, which the session drops by seq.
    // Subscribed until the `finished`, unless it exists already. Not "unless the task is
    // final": a task is final a moment before its `finished` is emitted, which a resume in that
    // moment would then never get.
    bool finished = false;
    auto events = t->retained_after(after_seq, &finished);
    if (!finished) {
      auto& v = st->subscribers[t->key()];
      bool present =
          std::any_of(v.begin(), v.end(), [&](const auto& w) { return w.lock() == session; });
      if (!present) v.push_back(sub);
    }
    session->deliver_replay(t->key(), std::move(events), ok);
  });
}

void hub::close_all() {
  net::post(s_->strand, [st = s_.get()] {
    for (auto& [id, members] : st->clients)
      for (auto& m : members)
        if (auto s = m.session.lock()) s->going_away();
  });
}

void hub::schedule_drain(std::shared_ptr<task> t) {
  std::unique_lock lock(s_->ready_mu);
  s_->ready.push_back(std::move(t));
  s_->post_ready_locked(lock);
}

void hub::state::post_ready_locked(std::unique_lock<std::mutex>& lock) {
  if (ready_posted) return;
  ready_posted = true;
  lock.unlock();
  net::post(strand, [this] { drain_ready(); });
}

void hub::state::drain_ready() {
  {
    std::lock_guard lock(ready_mu);
    taking_changes.swap(changes);
    taking.swap(ready);
    ready_posted = false;
  }
  for (auto& c : taking_changes) {
    if (c.forget) {
      subscribers.erase(c.key);
      continue;
    }
    auto session = c.session.lock();
    if (!session) continue;  // gone already: nothing to deliver to
    // A resume of a just-submitted task may have subscribed the same session already.
    auto& v = subscribers[c.key];
    if (std::none_of(v.begin(), v.end(), [&](const auto& w) { return w.lock() == session; }))
      v.push_back(std::move(c.session));
  }
  taking_changes.clear();
  for (const auto& t : taking)
    drain(t);
  taking.clear();
}

void hub::state::drain(const std::shared_ptr<task>& t) {
  auto events = t->take_pending();
  if (events.empty()) return;
  bool ended = events.back().kind == event_kind::finished;
  auto it = subscribers.find(t->key());
  if (it == subscribers.end()) return;
  auto batch = std::make_shared<const std::vector<event>>(std::move(events));
  auto& subs = it->second;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const std::weak_ptr<subscriber>& w) {
                              auto s = w.lock();
                              if (!s) return true;
                              s->deliver(t->key(), batch);
                              return false;
                            }),
             subs.end());
  // Nothing follows a finished event, so the subscription has done its work.
  if (ended) subscribers.erase(it);
}

}  // namespace taskwire
