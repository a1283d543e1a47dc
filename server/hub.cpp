// SPDX-License-Identifier: MIT
#include "server/hub.hpp"

#include <algorithm>
#include <unordered_map>

#include "server/net.hpp"

namespace taskwire {

struct hub::state {
  state(net::io_context& ioc, client_gone_fn fn)
      : strand(net::make_strand(ioc)), gone(std::move(fn)) {}

  void drain(const std::shared_ptr<task>& t);

  net::strand<net::io_context::executor_type> strand;
  client_gone_fn gone;
  struct member {
    const subscriber* id;
    std::weak_ptr<subscriber> session;
  };
  std::unordered_map<std::string, std::vector<member>> clients;
  std::unordered_map<std::uint64_t, std::vector<std::weak_ptr<subscriber>>> subscribers;
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
  net::post(s_->strand, [st = s_.get(), key = t->key(), sub = std::move(sub)] {
    st->subscribers[key].push_back(sub);
  });
}

void hub::forget(const std::shared_ptr<task>& t) {
  net::post(s_->strand, [st = s_.get(), key = t->key()] { st->subscribers.erase(key); });
}

void hub::resume(const std::shared_ptr<task>& t, std::weak_ptr<subscriber> sub,
                 std::uint64_t after_seq, std::shared_ptr<const std::string> ok) {
  net::post(s_->strand, [st = s_.get(), t, sub = std::move(sub), after_seq, ok = std::move(ok)] {
    auto session = sub.lock();
    if (!session) return;
    // Events still pending in the task are retained already: they are in this replay, and the
    // drain that follows delivers them again, which the session drops by seq.
    auto events = t->retained_after(after_seq);
    bool ended = !events.empty() && events.back().kind == event_kind::finished;
    if (!ended && !is_final(t->state())) {
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
  net::post(s_->strand, [st = s_.get(), t = std::move(t)] { st->drain(t); });
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
