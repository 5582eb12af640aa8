-- Opening hours of a place (a youth centre open until 22:00, the station until the last train):
-- a route plan visits the place only while it is open. Times are the wall-clock times of the
-- area's time zone (areas.time_zone), every day alike; a closing time before the opening time
-- is after midnight (18:00–01:00). No hours: always open. hours_source says where they come
-- from (OpenStreetMap's opening_hours, the planner, a timetable).
ALTER TABLE places
    ADD COLUMN opens        time,
    ADD COLUMN closes       time,
    ADD COLUMN hours_source text NOT NULL DEFAULT '',
    ADD CONSTRAINT places_hours_check
        CHECK ((opens IS NULL) = (closes IS NULL) AND (opens IS NULL OR opens <> closes)),
    ADD CONSTRAINT places_hours_source_check
        CHECK (opens IS NOT NULL OR hours_source = '');
