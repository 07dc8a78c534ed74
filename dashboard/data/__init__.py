"""The dashboard's read side: every database read and computation behind the pages and the API.

One module per job: ``notices`` (the degraded states a page must explain, as codes with their
facts), ``windows`` (the read window of bars and its feed notices, the multi-symbol closes),
``pairs`` (a pair's analytics and backtest), ``feed`` (lights, perpetual quotes, the typed
status report, completeness) and ``alert_log`` (stored alerts and alert-rule states). Each function
takes the process's ``DataService`` (``dashboard.services``: settings, clock, read-only engine,
shared results) and returns frames or frozen dataclasses; none writes English, which is
``dashboard.wording``'s job, and none builds a JSON body, which is the API's.
"""
