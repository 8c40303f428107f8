// The Notifier module; see README's module map.
