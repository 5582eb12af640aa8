-- Each area records its wall-clock time zone, as it records its metric CRS: days, nights and
-- time-of-week filters are the area's local ones. The default is geo.geometry.DEFAULT_TIME_ZONE.
ALTER TABLE areas ADD COLUMN time_zone text NOT NULL DEFAULT 'Europe/Stockholm'
    CHECK (time_zone ~ '^[A-Za-z]+(/[A-Za-z0-9_+-]+)*$');
